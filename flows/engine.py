"""The flow engine: ``step(state, input) -> (new state, effects)``, pure and deterministic.

The run state is a plain JSON-able dict (the bot stores it encrypted); screen tokens come from
an injected generator, and today's date from an injected clock, so the same inputs always give
the same outputs. Facts the bot knows about the service (``handoff_available``) are injected
too and read by conditions, never stored in the run. Button data is ``<token>.<code>``: it is
resolved against the current state, never trusted, and a token from an older screen answers
"that menu has closed" with the current screen.

Words typed at a menu can be looked up in the knowledge articles (``find_articles``, injected
like the clock): the matching articles are offered as buttons on a results screen, and a
result's button, like any other, is resolved against the state, never trusted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flows.events import (
    ActionDone,
    Back,
    Button,
    Effect,
    Home,
    Input,
    Notice,
    Perform,
    Press,
    Redisplay,
    RunEnded,
    Say,
    Screen,
    Start,
    Step,
    Unsupported,
)
from flows.model import (
    AWAITED_ACTIONS,
    FINAL_ACTIONS,
    ActionKind,
    Choice,
    FlowSet,
    InputKind,
    Navigation,
    Node,
    NodeKind,
    holds,
)
from flows.parsing import find_contacts, month_problem, parse_month_year, redact_contacts

STATE_VERSION = 1
MAX_HOPS = 200
QUICK_EXIT = "x"
BACK = "b"
HOME = "m"
SKIP = "s"
MORE = "n"
CONTINUE = "c"
REDACT = "r"  # contact details found in an answer: remove them and keep the rest
REWRITE = "w"  # ... write the answer again
KEEP = "k"  # ... keep it as written
OFFER = "a"  # a search result: "a0" is the first article offered
MAX_OFFERS = 5
SEARCH_SCREEN = "search.results"
CONTACT_SCREEN = "privacy.contact_warning"
PHNOM_PENH = timedelta(hours=7)  # no daylight saving time

State = dict[str, Any]
ArticleFinder = Callable[[str, str], Sequence[str]]
"""``(typed text, language) -> article ids``, best first (``ArticleLibrary.search``)."""


def phnom_penh_today() -> date:
    """The default clock: today's date in Cambodia. Tests inject their own."""
    return (datetime.now(UTC) + PHNOM_PENH).date()


class FlowError(RuntimeError):
    """The definitions loop without ever waiting for the person (caught by validation)."""


class Engine:
    def __init__(
        self,
        flows: FlowSet,
        new_token: Callable[[], str],
        *,
        today: Callable[[], date] = phnom_penh_today,
        facts: Mapping[str, str] | None = None,
        find_articles: ArticleFinder | None = None,
    ) -> None:
        """``today`` gives the current date (months in the future are refused); ``facts`` are
        what the bot knows about the service, e.g. ``{"handoff_available": "yes"}``, read by
        the flows' conditions alongside the run's variables. ``find_articles`` looks up words
        typed at a menu; without it (or when nothing matches) the person is asked to use the
        buttons."""
        self.flows = flows
        self.new_token = new_token
        self.today = today
        self.facts = dict(facts or {})
        self.find_articles = find_articles
        self.article_nodes = _article_nodes(flows)
        self.offer_labels = {place: label for place, label in self.article_nodes.values()}

    # ------------------------------------------------------------ entry point
    def step(self, state: State | None, event: Input) -> Step:
        effects: list[Effect] = []
        if isinstance(event, Start):
            flow_id = event.flow_id or self.flows.home
            node_id = event.node_id or self.flows.flows[flow_id].start
            fresh = self._blank(flow_id, node_id, self._kept(state["vars"] if state else {}))
            return self._finish(self._enter(fresh, flow_id, node_id, effects), effects)
        if isinstance(event, Press) and event.data.partition(".")[2] == QUICK_EXIT:
            return self._quick_exit(state)
        if state is None or not self._valid(state):
            home = self._blank(self.flows.home, self.flows.flows[self.flows.home].start, {})
            if isinstance(event, Press):
                effects.append(Notice("menu_closed"))
            return self._finish(self._enter(home, home["flow"], home["node"], effects), effects)
        if isinstance(event, Home):
            return self._finish(self._go_home({**state, "awaiting": None}, effects), effects)
        if isinstance(event, Back):
            return self._finish(self._back(state, effects), effects)
        if isinstance(event, Redisplay):
            if state.get("awaiting"):
                return Step(state, ())
            return Step(state, (self._screen(state),))
        if isinstance(event, ActionDone):
            return self._finish(self._action_done(state, event, effects), effects)
        if isinstance(event, Unsupported):
            effects.append(Notice("unsupported_input", {"kind": event.kind}))
            return Step(state, (*effects, self._screen(state)))
        if isinstance(event, Press):
            return self._finish(self._press(state, event.data, effects), effects)
        return self._finish(self._text(state, event.text, effects), effects)

    # ------------------------------------------------------------ helpers
    def _kept(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in variables.items() if k in self.flows.kept_variables}

    def _holds(self, condition: str, state: State) -> bool:
        return holds(condition, {**state["vars"], **self.facts})

    def _choices(self, node: Node, state: State) -> tuple[Choice, ...]:
        """The choices shown on this screen: those whose ``if`` holds."""
        return tuple(
            choice
            for choice in self.flows.choices(node)
            if choice.condition is None or self._holds(choice.condition, state)
        )

    def _blank(self, flow_id: str, node_id: str, keep: dict[str, Any]) -> State:
        return {
            "v": STATE_VERSION,
            "flow": flow_id,
            "node": node_id,
            "vars": dict(keep),
            "history": [],
            "token": "",
            "page": 0,
            "awaiting": None,
            "return_to": None,
        }

    def _valid(self, state: State) -> bool:
        flow = self.flows.flows.get(str(state.get("flow")))
        return (
            state.get("v") == STATE_VERSION
            and flow is not None
            and state.get("node") in flow.nodes
        )

    def _finish(self, state: State | None, effects: list[Effect]) -> Step:
        return Step(state, tuple(effects))

    def _node(self, state: State) -> Node:
        return self.flows.node(state["flow"], state["node"])

    def _quick_exit(self, state: State | None) -> Step:
        variables = dict(state["vars"]) if state else {}
        return Step(None, (Perform(ActionKind.QUICK_EXIT, {}, variables), RunEnded()))

    # ------------------------------------------------------------ moving
    def _enter(
        self, state: State, flow_id: str, node_id: str, effects: list[Effect]
    ) -> State | None:
        """Walk from ``node_id`` until a node waits for the person (or the run ends)."""
        for _ in range(MAX_HOPS):
            requires = self.flows.flows[flow_id].requires
            if requires is not None and not self._holds(requires.condition, state):
                flow_id, node_id = self.flows.resolve(flow_id, requires.otherwise)
                continue
            node = self.flows.node(flow_id, node_id)
            variables = state["vars"]
            text = node.text_for({**variables, **self.facts})
            if node.kind is NodeKind.BRANCH:
                if node.condition is None:  # pragma: no cover - rejected by validation
                    raise FlowError(f"{flow_id}.{node.id}: branch without a condition")
                target = node.next if self._holds(node.condition, state) else node.otherwise
                if target is None:
                    flow_id, node_id = self._home_start()
                    continue
                flow_id, node_id = self.flows.resolve(flow_id, target)
                continue
            if node.kind is NodeKind.MESSAGE:
                if text:
                    effects.append(Say(text, _params(variables)))
                if node.next is None:
                    flow_id, node_id = self._home_start()
                    continue
                flow_id, node_id = self.flows.resolve(flow_id, node.next)
                continue
            if node.kind is NodeKind.END:
                if text:
                    effects.append(Say(text, _params(variables)))
                flow_id, node_id = self._home_start()
                state = {
                    **state,
                    "history": [],
                    "return_to": None,
                    "pending": None,
                    "vars": self._kept(variables),
                }
                continue
            if node.kind is NodeKind.ACTION:
                if node.action is None:  # pragma: no cover - rejected by validation
                    raise FlowError(f"{flow_id}.{node.id}: action node without an action")
                params = dict(node.params)
                effects.append(Perform(node.action, params, dict(variables)))
                if node.action is ActionKind.SET_LANGUAGE and "language" in params:
                    state = {**state, "vars": {**variables, "language": params["language"]}}
                if node.action in FINAL_ACTIONS:
                    effects.append(RunEnded())
                    return None
                if node.action in AWAITED_ACTIONS:
                    return {**state, "flow": flow_id, "node": node.id, "awaiting": "action"}
                if node.next is None:
                    flow_id, node_id = self._home_start()
                    continue
                flow_id, node_id = self.flows.resolve(flow_id, node.next)
                continue
            # menu, question, article: a screen that waits.
            if (
                state.get("awaiting") is None
                and self._waiting(state)
                and (state["flow"], state["node"]) != (flow_id, node_id)
            ):
                state = {**state, "history": [*state["history"], [state["flow"], state["node"]]]}
            if node.navigation is Navigation.NONE:
                state = {**state, "history": [], "return_to": None}
            state = {
                **state,
                "flow": flow_id,
                "node": node_id,
                "page": 0,
                "awaiting": None,
                "pending": None,
                "offer": None,
                "token": self.new_token(),
            }
            effects.append(self._screen(state))
            return state
        raise FlowError(f"more than {MAX_HOPS} steps without waiting for the person")

    def _waiting(self, state: State) -> bool:
        flow = self.flows.flows.get(state["flow"])
        if flow is None or state["node"] not in flow.nodes or not state["token"]:
            return False
        return flow.nodes[state["node"]].kind in (
            NodeKind.MENU,
            NodeKind.QUESTION,
            NodeKind.ARTICLE,
        )

    def _home_start(self) -> tuple[str, str]:
        return self.flows.home, self.flows.flows[self.flows.home].start

    def _advance(
        self, state: State, node: Node, effects: list[Effect], target: str | None = None
    ) -> State | None:
        if state.get("return_to"):
            flow_id, node_id = state["return_to"]
            state = {**state, "return_to": None}
            return self._enter(state, flow_id, node_id, effects)
        destination = target or node.next
        if destination is None:
            flow_id, node_id = self._home_start()
            return self._enter(state, flow_id, node_id, effects)
        flow_id, node_id = self.flows.resolve(state["flow"], destination)
        return self._enter(state, flow_id, node_id, effects)

    def _back(self, state: State, effects: list[Effect]) -> State | None:
        if state.get("pending") is not None:  # Back from the contact warning: the question
            state = {**state, "pending": None, "token": self.new_token()}
            effects.append(self._screen(state))
            return state
        history = list(state["history"])
        if not history:
            flow_id, node_id = self._home_start()
            return self._enter({**state, "return_to": None}, flow_id, node_id, effects)
        flow_id, node_id = history.pop()
        state = {
            **state,
            "history": history,
            "flow": flow_id,
            "node": node_id,
            "page": 0,
            "awaiting": None,
            "return_to": None,
            "pending": None,
            "offer": None,
            "token": self.new_token(),
        }
        effects.append(self._screen(state))
        return state

    def _action_done(self, state: State, event: ActionDone, effects: list[Effect]) -> State | None:
        if not state.get("awaiting"):
            return state
        node = self._node(state)
        state = {**state, "awaiting": None, "vars": {**state["vars"], **event.values}}
        return self._advance(state, node, effects)

    # ------------------------------------------------------------ input
    def _press(self, state: State, data: str, effects: list[Effect]) -> State | None:
        token, _, code = data.partition(".")
        if state.get("awaiting") or token != state["token"] or not code:
            effects.append(Notice("menu_closed"))
            if not state.get("awaiting"):
                effects.append(self._screen(state))
            return state
        node = self._node(state)
        if state.get("offer"):
            return self._offer_choice(state, code, effects)
        if code == BACK and node.navigation is not Navigation.NONE:
            return self._back(state, effects)
        if code == HOME and node.navigation is Navigation.FULL:
            return self._go_home(state, effects)
        pending = state.get("pending")
        if pending is not None:
            return self._contact_choice(state, node, code, str(pending), effects)
        if code == SKIP and node.kind is NodeKind.QUESTION and node.optional:
            return self._answer(state, node, None, effects)
        if code == MORE and node.kind is NodeKind.ARTICLE:
            pages = self.flows.article_pages.get(node.article or "", 1)
            if state["page"] + 1 < pages:
                state = {**state, "page": state["page"] + 1, "token": self.new_token()}
                effects.append(self._screen(state))
                return state
        if code == CONTINUE and node.kind is NodeKind.ARTICLE and node.next:
            return self._advance(state, node, effects)
        if code.isdigit():
            choices = self._choices(node, state)
            index = int(code)
            if index < len(choices) and (
                node.kind is NodeKind.MENU or node.input in (None, InputKind.CHOICE)
            ):
                return self._choose(state, node, choices[index], effects)
        effects.append(Notice("menu_closed"))
        effects.append(self._screen(state))
        return state

    def _offer_choice(self, state: State, code: str, effects: list[Effect]) -> State | None:
        """A press on the search results screen: an offered article, Back (the menu the
        words were typed at), or Menu. Anything else is refused."""
        offer = state["offer"]
        if code == BACK:
            state = {**state, "offer": None, "token": self.new_token()}
            effects.append(self._screen(state))
            return state
        if code == HOME:
            return self._go_home(state, effects)
        index = code[len(OFFER) :]
        if code.startswith(OFFER) and index.isdigit() and int(index) < len(offer):
            place = offer[int(index)]
            if isinstance(place, list) and tuple(place) in self.offer_labels:
                flow_id, node_id = place
                state = {**state, "offer": None, "return_to": None}
                return self._enter(state, flow_id, node_id, effects)
        effects.append(Notice("menu_closed"))
        effects.append(self._screen(state))
        return state

    def _contact_choice(
        self, state: State, node: Node, code: str, pending: str, effects: list[Effect]
    ) -> State | None:
        """The answer to "your answer contains a phone number or username": remove them,
        write the answer again, or keep it as written."""
        state = {**state, "pending": None}
        if code == REDACT:
            return self._answer(state, node, redact_contacts(pending), effects)
        if code == KEEP:
            return self._answer(state, node, pending, effects)
        if code != REWRITE:
            effects.append(Notice("menu_closed"))
            state = {**state, "pending": pending}
        state = {**state, "token": self.new_token()}
        effects.append(self._screen(state))
        return state

    def _go_home(self, state: State, effects: list[Effect]) -> State | None:
        flow_id, node_id = self._home_start()
        state = {**state, "history": [], "return_to": None, "pending": None}
        return self._enter(state, flow_id, node_id, effects)

    def _choose(
        self, state: State, node: Node, choice: Choice, effects: list[Effect]
    ) -> State | None:
        if choice.edit is not None:
            # Come back here after the answer, or to the node the menu names (an "edit which
            # answer?" menu returns to the summary it was opened from).
            back_to = node.params.get("return_to", state["node"])
            state = {**state, "return_to": [state["flow"], back_to]}
            flow_id, node_id = self.flows.resolve(state["flow"], choice.edit)
            return self._enter(state, flow_id, node_id, effects)
        if node.kind is NodeKind.QUESTION:
            return self._answer(
                state, node, choice.value or choice.id, effects, target=choice.next
            )
        if choice.next is None:
            return self._go_home(state, effects)
        return self._advance({**state, "return_to": None}, node, effects, target=choice.next)

    def _answer(
        self,
        state: State,
        node: Node,
        value: str | None,
        effects: list[Effect],
        target: str | None = None,
    ) -> State | None:
        variables = dict(state["vars"])
        if node.save_as:
            if value is None:
                variables.pop(node.save_as, None)
            else:
                variables[node.save_as] = value
        return self._advance({**state, "vars": variables}, node, effects, target=target)

    def _text(self, state: State, text: str, effects: list[Effect]) -> State | None:
        if state.get("awaiting"):
            return state
        node = self._node(state)
        offers = self._search(state, node, text)
        if offers:
            state = {**state, "offer": offers, "token": self.new_token()}
            effects.append(self._screen(state))
            return state
        if state.get("offer"):
            state = {**state, "offer": None}
        if node.kind is not NodeKind.QUESTION or node.input not in (
            InputKind.TEXT,
            InputKind.MONTH_YEAR,
        ):
            effects.append(Notice("use_buttons"))
            effects.append(self._screen(state))
            return state
        cleaned = text.strip()
        state = {**state, "pending": None}
        if node.input is InputKind.MONTH_YEAR:
            parsed = parse_month_year(cleaned)
            problem = "invalid_month" if parsed is None else month_problem(parsed, self.today())
            if parsed is None or problem is not None:
                effects.append(Notice(problem or "invalid_month", self._month_params()))
                effects.append(self._screen(state))
                return state
            return self._answer(state, node, parsed, effects)
        if len(cleaned) > node.max_length:
            effects.append(
                Notice("too_long", {"limit": str(node.max_length), "length": str(len(cleaned))})
            )
            effects.append(self._screen(state))
            return state
        if len(cleaned) < node.min_length:
            effects.append(Notice("too_short", {"limit": str(node.min_length)}))
            effects.append(self._screen(state))
            return state
        if find_contacts(cleaned):
            # Nothing is saved until the person chooses: remove, write again, or keep.
            state = {**state, "pending": cleaned, "token": self.new_token()}
            effects.append(self._screen(state))
            return state
        return self._answer(state, node, cleaned, effects)

    def _search(self, state: State, node: Node, text: str) -> list[list[str]]:
        """The article screens to offer for words typed at a menu (one with full navigation:
        not the first screens, before the privacy notice is acknowledged)."""
        typed = text.strip()
        if (
            self.find_articles is None
            or node.kind is not NodeKind.MENU
            or node.navigation is not Navigation.FULL
            or not typed
            or typed.startswith("/")
        ):
            return []
        language = str(state["vars"].get("language") or "km")
        offers: list[list[str]] = []
        for article_id in self.find_articles(typed, language):
            found = self.article_nodes.get(article_id)
            if found is not None and list(found[0]) not in offers:
                offers.append(list(found[0]))
            if len(offers) == MAX_OFFERS:
                break
        return offers

    def _month_params(self) -> dict[str, str]:
        today = self.today()
        return {"this_month": f"{today.month}/{today.year}", "earliest": "1990"}

    # ------------------------------------------------------------ rendering
    def _screen(self, state: State) -> Screen:
        node = self._node(state)
        token = state["token"]
        rows: list[tuple[Button, ...]] = []
        if state.get("offer"):
            rows += [
                (Button(self.offer_labels[(flow_id, node_id)], f"{token}.{OFFER}{index}"),)
                for index, (flow_id, node_id) in enumerate(state["offer"])
                if (flow_id, node_id) in self.offer_labels
            ]
            rows.append(self._offer_navigation(state))
            return Screen(text=SEARCH_SCREEN, buttons=tuple(rows), params=_params(state["vars"]))
        if state.get("pending") is not None:
            rows += [
                (Button("privacy.remove_contacts", f"{token}.{REDACT}"),),
                (Button("privacy.rewrite", f"{token}.{REWRITE}"),),
                (Button("privacy.keep", f"{token}.{KEEP}"),),
                self._navigation(state, node),
            ]
            return Screen(text=CONTACT_SCREEN, buttons=tuple(rows))
        if node.kind in (NodeKind.MENU, NodeKind.QUESTION) and node.input in (
            None,
            InputKind.CHOICE,
        ):
            rows += [
                (Button(choice.label, f"{token}.{index}"),)
                for index, choice in enumerate(self._choices(node, state))
            ]
        pages = 1
        if node.kind is NodeKind.ARTICLE:
            pages = self.flows.article_pages.get(node.article or "", 1)
            if state["page"] + 1 < pages:
                rows.append(
                    (
                        Button(
                            "nav.more",
                            f"{token}.{MORE}",
                            {"page": str(state["page"] + 2), "pages": str(pages)},
                        ),
                    )
                )
            if node.next:
                rows.append((Button("nav.continue", f"{token}.{CONTINUE}"),))
        if node.kind is NodeKind.QUESTION and node.optional:
            rows.append((Button("nav.skip", f"{token}.{SKIP}"),))
        rows.append(self._navigation(state, node))
        return Screen(
            text=node.text_for({**state["vars"], **self.facts}),
            buttons=tuple(rows),
            params=_params(state["vars"]),
            article=node.article,
            page=state["page"],
            pages=pages,
            answers=tuple(self._answer_rows(state, node)),
        )

    def _navigation(self, state: State, node: Node) -> tuple[Button, ...]:
        token = state["token"]
        at_home = (state["flow"], state["node"]) == self._home_start()
        nav: list[Button] = []
        if not at_home and node.navigation is not Navigation.NONE:
            nav.append(Button("nav.back", f"{token}.{BACK}"))
        if not at_home and node.navigation is Navigation.FULL:
            nav.append(Button("nav.menu", f"{token}.{HOME}"))
        nav.append(Button("nav.quick_exit", f"{token}.{QUICK_EXIT}"))
        return tuple(nav)

    def _offer_navigation(self, state: State) -> tuple[Button, ...]:
        """Search results: Back to the menu the words were typed at (unless that is the main
        menu, which Menu shows), Menu, Quick exit."""
        token = state["token"]
        nav: list[Button] = []
        if (state["flow"], state["node"]) != self._home_start():
            nav.append(Button("nav.back", f"{token}.{BACK}"))
        nav.append(Button("nav.menu", f"{token}.{HOME}"))
        nav.append(Button("nav.quick_exit", f"{token}.{QUICK_EXIT}"))
        return tuple(nav)

    def _answer_rows(self, state: State, node: Node) -> list[tuple[str, str, str | None]]:
        rows: list[tuple[str, str, str | None]] = []
        for name in node.show_answers:
            value = state["vars"].get(name)
            label: str | None = None
            question = self._question_for(name)
            if value is not None and question is not None:
                for choice in self.flows.choices(question):
                    if (choice.value or choice.id) == value:
                        label = choice.label
            rows.append((name, "" if value is None else str(value), label))
        return rows

    def _question_for(self, name: str) -> Node | None:
        for flow in self.flows.flows.values():
            for node in flow.nodes.values():
                if node.save_as == name:
                    return node
        return None


def _article_nodes(flows: FlowSet) -> dict[str, tuple[tuple[str, str], str]]:
    """Each article a menu opens: the article node a menu choice leads to and the choice's
    label, so a search result opens it exactly as choosing it from that menu would (the
    first menu in the definitions' order wins)."""
    found: dict[str, tuple[tuple[str, str], str]] = {}
    for flow in flows.flows.values():
        for node in flow.nodes.values():
            if node.kind is not NodeKind.MENU:
                continue
            for choice in flows.choices(node):
                if choice.next is None or choice.condition is not None:
                    continue
                flow_id, node_id = flows.resolve(flow.id, choice.next)
                target = flows.flows.get(flow_id)
                article = target.nodes.get(node_id) if target is not None else None
                if article is None or article.kind is not NodeKind.ARTICLE or not article.article:
                    continue
                found.setdefault(article.article, ((flow_id, node_id), choice.label))
    return found


def _params(variables: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in variables.items()}

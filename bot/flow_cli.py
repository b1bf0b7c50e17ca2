"""``clgbt flow run FILE --lang km``: step through a flow in the terminal, with the real engine
and catalogues, and nothing stored. Actions are shown, not carried out."""

from __future__ import annotations

import html
import itertools
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.content import load_content
from bot.rendering import Renderer
from flows.engine import Engine
from flows.events import (
    ActionDone,
    Back,
    Effect,
    Home,
    Input,
    Notice,
    Perform,
    Press,
    Say,
    Screen,
    Start,
    Text,
)
from flows.loader import load_flow_file
from flows.model import AWAITED_ACTIONS, ActionKind

_TAGS = re.compile(r"</?[a-z]+>")


def plain(text: str) -> str:
    return html.unescape(_TAGS.sub("", text))


class FlowRunner:
    def __init__(
        self,
        path: Path,
        language: str,
        *,
        out: TextIO = sys.stdout,
        read_line: Callable[[], str] = sys.stdin.readline,
    ) -> None:
        flow, problems = load_flow_file(path)
        if flow is None:
            raise ValueError("; ".join(str(p) for p in problems))
        self.flow_id = flow.id
        self.content = load_content()
        counter = itertools.count(1)
        # Authors step through the staffed path; the no-counsellor screens have their tests.
        self.engine = Engine(
            self.content.flows,
            lambda: f"s{next(counter)}",
            facts={"handoff_available": "yes"},
            find_articles=self.content.articles.search,
        )
        self.renderer = Renderer(self.content)
        self.language = language
        self.out = out
        self.read_line = read_line
        self.buttons: list[str] = []

    def say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def show(self, effects: tuple[Effect, ...]) -> ActionDone | None:
        reply: ActionDone | None = None
        for effect in effects:
            if isinstance(effect, Screen):
                self.say(plain(self.renderer.screen_text(effect, self.language)))
                self.buttons = []
                for row in effect.buttons:
                    for button in row:
                        self.buttons.append(button.data)
                        label = self.content.texts.text(
                            button.label, self.language, **button.params
                        )
                        self.say(f"   [{len(self.buttons)}] {label}")
            elif isinstance(effect, Say):
                self.say(plain(self.renderer.text(effect.text, self.language, effect.params)))
            elif isinstance(effect, Notice):
                self.say("(" + plain(self.renderer.notice_text(effect, self.language)) + ")")
            elif isinstance(effect, Perform):
                self.say(f"   <action: {effect.action.value}>")
                if effect.action is ActionKind.SET_LANGUAGE:
                    self.language = effect.params.get("language", self.language)
                if effect.action in AWAITED_ACTIONS:
                    reply = ActionDone({"case_code": "DEMO-CODE", "partner_count": "0"})
            else:
                self.say("   <the run has ended>")
        return reply

    def run(self) -> None:
        self.say(
            f"Flow '{self.flow_id}' in {self.language}. Type a button's number or text; "
            "/back, /menu, /quit."
        )
        step = self.engine.step(None, Start(self.flow_id))
        while True:
            reply = self.show(step.effects)
            if reply is not None:
                step = self.engine.step(step.state, reply)
                continue
            if step.state is None:
                return
            line = self.read_line()
            if not line or line.strip() == "/quit":
                return
            text = line.strip()
            event: Input
            if text == "/back":
                event = Back()
            elif text == "/menu":
                event = Home()
            elif text.isdigit() and 1 <= int(text) <= len(self.buttons):
                event = Press(self.buttons[int(text) - 1])
            else:
                event = Text(text)
            step = self.engine.step(step.state, event)

// The training page. It talks only to the emulator's control interface (/sandbox/...):
// it reads chats, topics and the training status, and acts as people by sending messages
// and pressing buttons. The bot under training sees all of it through the Bot API.
"use strict";

const GENERAL = 1;
const page = {
  version: -1,
  world: null,
  staffId: null,          // who you are in the staff group
  personChoice: "mine",   // "mine" or "scenario"
  place: { chat: null, thread: GENERAL },
  autoThread: null,       // the scenario topic already opened for you
  scenarioPerson: null,
  refreshing: false,
  again: false,
};

const $ = (id) => document.getElementById(id);

async function control(action, body) {
  const response = await fetch(`/sandbox/${action}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body || {}),
  });
  const data = await response.json();
  if (!data.ok) throw new Error(data.description || `${action} failed`);
  return data.result;
}

function toast(text) {
  const element = $("toast");
  element.textContent = text;
  element.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => element.classList.remove("show"), 3500);
}

function hasKhmer(text) { return /[\u1780-\u17FF]/.test(text || ""); }

function personId() {
  if (page.personChoice === "scenario" && page.scenarioPerson) return page.scenarioPerson;
  return page.world.person_id;
}

function aliasOf(userId) {
  const member = (page.world.members || []).find((m) => m.user_id === userId);
  return member ? member.alias : null;
}

// ------------------------------------------------------------------ rendering a message
function renderMessage(message, viewerId, { names }) {
  const box = document.createElement("div");
  box.className = "msg";
  box.dataset.id = message.message_id;
  const sender = message.from || {};
  if (message.forum_topic_created || message.group_chat_created) {
    box.classList.add("service");
    box.textContent = message.forum_topic_created
      ? `Topic created: ${message.forum_topic_created.name}`
      : "Group created";
    return box;
  }
  if (sender.id === viewerId) box.classList.add("mine");
  if (message.has_protected_content) box.classList.add("protected");
  if (names && sender.id !== viewerId) {
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = sender.is_bot ? "bot" : (aliasOf(sender.id) || sender.first_name || "");
    box.appendChild(who);
  }
  if (message.photo) {
    const largest = message.photo[message.photo.length - 1];
    const img = document.createElement("img");
    img.alt = "photo";
    img.src = `/sandbox/file/${encodeURIComponent(largest.file_id)}`;
    img.onerror = () => { img.replaceWith(document.createTextNode("🖼 photo")); };
    box.appendChild(img);
  }
  if (message.document) {
    const link = document.createElement("a");
    link.className = "doc";
    link.href = `/sandbox/file/${encodeURIComponent(message.document.file_id)}`;
    link.target = "_blank";
    link.textContent = `📄 ${message.document.file_name || "document"}`;
    box.appendChild(link);
  }
  for (const kind of ["voice", "video", "sticker", "audio", "animation"]) {
    if (message[kind]) box.appendChild(document.createTextNode(`[${kind}] `));
  }
  if (message.location) box.appendChild(document.createTextNode("📍 location"));
  const text = message.text || message.caption || "";
  if (text) {
    const body = document.createElement("div");
    body.className = "text";
    if (hasKhmer(text)) body.lang = "km";
    body.textContent = text;
    box.appendChild(body);
  }
  const rows = (message.reply_markup || {}).inline_keyboard || [];
  if (rows.length) {
    const keyboard = document.createElement("div");
    keyboard.className = "keyboard";
    for (const row of rows) {
      const line = document.createElement("div");
      line.className = "row";
      for (const button of row) {
        const press = document.createElement("button");
        press.type = "button";
        press.className = "kb";
        press.textContent = button.text;
        if (hasKhmer(button.text)) press.lang = "km";
        press.dataset.messageId = message.message_id;
        press.addEventListener("click", () => pressButton(message, button.text, viewerId));
        line.appendChild(press);
      }
      keyboard.appendChild(line);
    }
    box.appendChild(keyboard);
  }
  const meta = document.createElement("div");
  meta.className = "meta";
  const when = new Date(message.date * 1000);
  meta.textContent = when.toTimeString().slice(0, 5) + (message.edit_date ? " · edited" : "");
  box.appendChild(meta);
  return box;
}

function fill(container, messages, viewerId, options) {
  const atBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 40;
  container.replaceChildren(...messages.map((m) => renderMessage(m, viewerId, options)));
  if (atBottom || options.scroll) container.scrollTop = container.scrollHeight;
}

// ------------------------------------------------------------------ acting
async function pressButton(message, label, userId) {
  try {
    await control("press", {
      user_id: userId, label, chat_id: message.chat.id, message_id: message.message_id,
    });
  } catch (error) { toast(error.message); }
}

async function sendText(userId, text, chatId, threadId) {
  const body = { user_id: userId, text };
  if (chatId) body.chat_id = chatId;
  if (threadId && threadId !== GENERAL) body.thread_id = threadId;
  await control("send", body);
}

async function sendSample(userId, sample, chatId, threadId) {
  const kind = sample.endsWith(".pdf") ? "document" : "photo";
  const body = { user_id: userId, kind, sample };
  if (chatId) body.chat_id = chatId;
  if (threadId && threadId !== GENERAL) body.thread_id = threadId;
  await control("media", body);
}

function wireComposers() {
  $("person-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("person-input");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    try { await sendText(personId(), text); } catch (error) { toast(error.message); }
  });
  $("staff-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("staff-input");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    try {
      await sendText(actorInPlace(), text, page.place.chat, page.place.thread);
    } catch (error) { toast(error.message); }
  });
  $("person-attach").addEventListener("change", async (event) => {
    const sample = event.target.value;
    event.target.value = "";
    if (!sample) return;
    try { await sendSample(personId(), sample); } catch (error) { toast(error.message); }
  });
  $("staff-attach").addEventListener("change", async (event) => {
    const sample = event.target.value;
    event.target.value = "";
    if (!sample) return;
    try {
      await sendSample(actorInPlace(), sample, page.place.chat, page.place.thread);
    } catch (error) { toast(error.message); }
  });
  $("as-staff").addEventListener("change", (event) => {
    page.staffId = Number(event.target.value);
    const member = page.world.members.find((m) => m.user_id === page.staffId);
    if (member && member.role === "coordinator" && page.place.chat !== page.world.staff_group_id) {
      page.place = { chat: page.world.coordinator_chat_id, thread: null };
    }
    refresh();
  });
  $("person-select").addEventListener("change", (event) => {
    page.personChoice = event.target.value;
    refresh();
  });
  $("scenario-start").addEventListener("click", async () => {
    const scenario = $("scenario-select").value;
    if (!scenario) return;
    try {
      await control("training_start", { scenario, language: $("scenario-lang").value || null });
      page.personChoice = "scenario";
      page.autoThread = null;
      toast("Scenario started: watch the phone, then counsel from the staff group.");
    } catch (error) { toast(error.message); }
  });
}

// ------------------------------------------------------------------ reading
async function setUp() {
  page.world = await control("world");
  const world = page.world;
  page.place = { chat: world.staff_group_id, thread: GENERAL };
  const select = $("as-staff");
  for (const member of world.members) {
    const option = document.createElement("option");
    option.value = member.user_id;
    option.textContent = `${member.alias} (${member.role})`;
    select.appendChild(option);
  }
  page.staffId = world.members[0].user_id;
  for (const id of ["person-attach", "staff-attach"]) {
    for (const sample of world.samples || []) {
      const option = document.createElement("option");
      option.value = sample;
      option.textContent = sample.endsWith(".pdf") ? `📄 ${sample}` : `🖼 ${sample}`;
      $(id).appendChild(option);
    }
  }
  const scenarios = await control("training_scenarios");
  for (const scenario of scenarios) {
    const option = document.createElement("option");
    option.value = scenario.id;
    option.textContent = `${scenario.title.en} · ${scenario.title.km}`;
    $("scenario-select").appendChild(option);
  }
}

function topicIcon(name) {
  const colours = ["#6fb9f0", "#ffd67e", "#cb86db", "#8eee98", "#ff93b2", "#fb6f5f"];
  let sum = 0;
  for (const char of name) sum += char.charCodeAt(0);
  return colours[sum % colours.length];
}

function renderChats(topics) {
  const world = page.world;
  const list = $("topics");
  const items = [{ message_thread_id: GENERAL, name: "General", message_count: null }];
  items.push(...[...topics].sort((a, b) => b.last_message_id - a.last_message_id));
  list.replaceChildren(...items.map((topic) => {
    const row = document.createElement("div");
    row.className = "topic";
    row.dataset.thread = topic.message_thread_id;
    const selected = page.place.chat === world.staff_group_id
      && page.place.thread === topic.message_thread_id;
    if (selected) row.classList.add("selected");
    const icon = document.createElement("div");
    icon.className = "icon";
    icon.style.background = topic.message_thread_id === GENERAL ? "#8b949e" : topicIcon(topic.name);
    icon.textContent = topic.message_thread_id === GENERAL ? "#" : topic.name.slice(0, 1);
    const label = document.createElement("div");
    const name = document.createElement("div");
    name.className = "topic-name";
    name.textContent = topic.name;
    label.appendChild(name);
    if (topic.last_text) {
      const sub = document.createElement("div");
      sub.className = "sub";
      sub.textContent = topic.last_text.slice(0, 60);
      label.appendChild(sub);
    }
    row.append(icon, label);
    if (topic.closed) {
      const closed = document.createElement("span");
      closed.className = "closed";
      closed.textContent = "closed";
      row.appendChild(closed);
    }
    row.addEventListener("click", () => {
      page.place = { chat: world.staff_group_id, thread: topic.message_thread_id };
      refresh({ scroll: true });
    });
    return row;
  }));
  const others = [
    { chat: world.coordinator_chat_id, name: "Coordinators (sandbox)" },
    { chat: world.partner_chat_id, name: `Partner: ${world.partner_id} (sandbox)` },
  ];
  $("other-chats").replaceChildren(...others.map((other) => {
    const row = document.createElement("div");
    row.className = "topic";
    row.dataset.chat = other.chat;
    if (page.place.chat === other.chat) row.classList.add("selected");
    const name = document.createElement("div");
    name.className = "topic-name";
    name.textContent = other.name;
    row.appendChild(name);
    row.addEventListener("click", () => {
      page.place = { chat: other.chat, thread: null };
      refresh({ scroll: true });
    });
    return row;
  }));
  let title = "General";
  if (page.place.chat === world.coordinator_chat_id) title = "Coordinators (sandbox)";
  else if (page.place.chat === world.partner_chat_id) title = `Partner: ${world.partner_id}`;
  else {
    const topic = topics.find((t) => t.message_thread_id === page.place.thread);
    if (topic) title = topic.name + (topic.closed ? " (closed)" : "");
  }
  $("thread-title").textContent = title;
}

function actorInPlace() {
  // The partner's chat is answered by the partner; everything else by the staff member chosen.
  if (page.place.chat === page.world.partner_chat_id) return page.world.partner_user_id;
  return page.staffId;
}

function renderTraining(status) {
  const person = $("person-select");
  const options = [["mine", "You play the person"]];
  if (status && status.person_id) options.push(["scenario", "The scenario's simulated person"]);
  if (person.options.length !== options.length) {
    person.replaceChildren(...options.map(([value, text]) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = text;
      return option;
    }));
  }
  person.value = page.personChoice === "scenario" && status && status.person_id
    ? "scenario" : "mine";
  if (!status) return;
  page.scenarioPerson = status.person_id;
  const lang = status.language;
  $("scenario-title").textContent = status.scenario.title[lang];
  $("scenario-title").lang = lang;
  $("scenario-brief").textContent = status.scenario.brief[lang];
  $("scenario-brief").lang = lang;
  const finished = status.finished ? " · the script is over" : "";
  $("scenario-state").textContent = `Status: ${status.status}${finished}` +
    (status.error ? ` (${status.error})` : "");
  $("scenario-state").dataset.status = status.status;
  $("checklist").replaceChildren(...status.checklist.map((item) => {
    const li = document.createElement("li");
    li.className = "check";
    li.dataset.check = item.check;
    li.dataset.passed = String(item.passed);
    li.lang = lang;
    const mark = document.createElement("span");
    mark.className = "mark";
    mark.textContent = item.passed ? "✓" : "✗";
    const detail = document.createElement("span");
    detail.className = "detail";
    detail.textContent = item.detail;
    li.append(mark, document.createTextNode(item.label), detail);
    return li;
  }));
  $("scenario-log").replaceChildren(...status.log.map((line) => {
    const li = document.createElement("li");
    li.textContent = line;
    if (hasKhmer(line)) li.lang = "km";
    return li;
  }));
  if (status.thread_id && page.autoThread !== status.thread_id) {
    page.autoThread = status.thread_id;
    page.place = { chat: page.world.staff_group_id, thread: status.thread_id };
  }
}

async function refresh(options = {}) {
  if (page.refreshing) { page.again = true; return; }
  page.refreshing = true;
  try {
    const world = page.world;
    const status = await control("training_status");
    renderTraining(status);
    const person = personId();
    const [personMessages, topics] = await Promise.all([
      control("messages", { chat_id: person }),
      control("topics", { chat_id: world.staff_group_id }),
    ]);
    $("person-title").textContent = "Daily Tips";
    fill($("person-messages"), personMessages, person, { names: false, scroll: options.scroll });
    renderChats(topics);
    const body = { chat_id: page.place.chat };
    if (page.place.thread) body.thread_id = page.place.thread;
    const staffMessages = await control("messages", body);
    fill($("staff-messages"), staffMessages, actorInPlace(), { names: true, scroll: options.scroll });
    document.body.dataset.version = String(page.version);
  } catch (error) {
    toast(error.message);
  } finally {
    page.refreshing = false;
    if (page.again) { page.again = false; refresh(); }
  }
}

async function follow() {
  // Long polling: /sandbox/changes answers as soon as anything changed.
  for (;;) {
    try {
      const response = await fetch(`/sandbox/changes?since=${page.version}`);
      const data = await response.json();
      if (data.ok && data.result.version !== page.version) {
        page.version = data.result.version;
        await refresh();
      }
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function main() {
  wireComposers();
  await setUp();
  await refresh({ scroll: true });
  document.body.dataset.ready = "true";
  follow();
}

main();

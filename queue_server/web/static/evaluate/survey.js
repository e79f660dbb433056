// The satisfaction survey form (满意度调查), shared by the phone page and the counter tablet:
// the campaign's questions (scale 1–5 with its labels, one choice, free text), required ones
// checked before sending. `onSubmit(answers)` sends them and answers null (done) or the
// message to show; the form keeps one Idempotency-Key, so a second press sends the same answer.

import { fill, h } from "/display/static/display.js";

export function surveyForm(container, survey, { onSubmit, submitText = "提交问卷" }) {
  const answers = {};
  let busy = false;

  const blocks = survey.questions.map((q, index) => {
    const title = h("div", { class: "sv-question" },
      `${index + 1}. ${q.text}`, q.required ? h("span", { class: "sv-required" }, "（必答）") : "");
    let body;
    if (q.kind === "scale") {
      body = h("div", { class: "sv-scale", role: "group", "aria-label": q.text },
        q.labels.map((label, i) => h("button", {
          type: "button", class: "sv-option", dataset: { question: q.id, value: String(i + 1) }, "aria-pressed": "false",
        }, h("b", {}, String(i + 1)), h("span", {}, label))));
    } else if (q.kind === "choice") {
      body = h("div", { class: "sv-choices", role: "group", "aria-label": q.text },
        q.options.map((option) => h("button", {
          type: "button", class: "sv-option", dataset: { question: q.id, value: option }, "aria-pressed": "false",
        }, option)));
    } else {
      const counter = h("div", { class: "sv-count" }, `0/${q.max_length}`);
      const area = h("textarea", { class: "sv-text", rows: "3", maxlength: String(q.max_length),
        dataset: { question: q.id }, placeholder: "请填写（选填）" });
      area.addEventListener("input", () => {
        counter.textContent = `${area.value.length}/${q.max_length}`;
      });
      body = h("div", {}, area, counter);
    }
    return h("fieldset", { class: "sv-block", dataset: { question: q.id } }, title, body);
  });
  const error = h("div", { class: "rate-error sv-error", role: "alert" });
  const submit = h("button", { type: "button", class: "rate-submit sv-submit" }, submitText);
  const root = h("div", { class: "sv-root" }, blocks, error, submit);
  fill(container, root);

  function update() {
    for (const button of root.querySelectorAll(".sv-option")) {
      const q = survey.questions.find((x) => x.id === button.dataset.question);
      const value = q.kind === "scale" ? Number(button.dataset.value) : button.dataset.value;
      button.setAttribute("aria-pressed", String(answers[q.id] === value));
    }
    submit.disabled = busy;
    submit.textContent = busy ? "正在提交…" : submitText;
  }

  root.addEventListener("click", async (event) => {
    const button = event.target.closest("button");
    if (!button || busy) return;
    if (button.classList.contains("sv-option")) {
      const q = survey.questions.find((x) => x.id === button.dataset.question);
      answers[q.id] = q.kind === "scale" ? Number(button.dataset.value) : button.dataset.value;
      error.textContent = "";
      update();
      return;
    }
    if (button !== submit) return;
    for (const area of root.querySelectorAll("textarea")) {
      const text = area.value.trim();
      if (text) answers[area.dataset.question] = text;
      else delete answers[area.dataset.question];
    }
    const missing = survey.questions.findIndex((q) => q.required && answers[q.id] === undefined);
    if (missing >= 0) {
      error.textContent = `请回答第 ${missing + 1} 题`;
      blocks[missing].scrollIntoView({ block: "center" });
      return;
    }
    busy = true;
    update();
    const problem = await onSubmit({ ...answers });
    busy = false;
    update();
    error.textContent = problem || "";
  });
  update();
  return root;
}

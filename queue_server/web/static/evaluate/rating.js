// The rating form (好差评) shared by the counter tablet and the phone ticket page: five levels,
// the four optional dimensions, and reason labels for a bad level. Nothing is preselected
// and nothing is defaulted: the citizen picks a level or the form is not sent. All levels
// look alike: the form never hints at an answer.

import { fill, h } from "/display/static/display.js";

// `form` is GET /api/v1/ratings/form (or the tablet's rating prompt):
// {levels: [{code, name}], dimensions: [{code, name}], labels: [...], bad_levels: [...]}.
// `onSubmit({level, dimensions, labels})` returns a promise of an error text or null.
export function ratingForm(container, form,
  { onSubmit, submitText = "提交评价", dimensionsOpen = false }) {
  const bad = new Set(form.bad_levels || ["dissatisfied", "very_dissatisfied"]);
  const chosen = { level: null, dimensions: {}, labels: new Set() };
  let busy = false;

  const levelButtons = form.levels.map((level) => h("button", {
    type: "button", class: "rate-level", dataset: { level: level.code }, "aria-pressed": "false",
  }, level.name));
  const levelRow = h("div", { class: "rate-levels", role: "group", "aria-label": "满意程度" }, levelButtons);

  const labelButtons = (form.labels || []).map((text) => h("button", {
    type: "button", class: "rate-label", dataset: { label: text }, "aria-pressed": "false",
  }, text));
  const labelBox = h("div", { class: "rate-reasons", hidden: true },
    h("div", { class: "rate-section" }, "请选择不满意的原因（可多选，至少一项）"),
    h("div", { class: "rate-labels" }, labelButtons));

  const dimensionRows = form.dimensions.map((dimension) => h("div", {
    class: "rate-dimension", dataset: { dimension: dimension.code },
  },
  h("div", { class: "rate-dimension-name" }, dimension.name),
  h("div", { class: "rate-dimension-levels", role: "group", "aria-label": dimension.name },
    form.levels.map((level) => h("button", {
      type: "button", class: "rate-dim-level", dataset: { dimension: dimension.code, level: level.code },
      "aria-pressed": "false",
    }, level.name)))));
  const dimensionBox = h("details", { class: "rate-dimensions", open: dimensionsOpen },
    h("summary", {}, "分项评价（可选）"), dimensionRows);

  const error = h("div", { class: "rate-error", role: "alert" });
  const submit = h("button", { type: "button", class: "rate-submit" }, submitText);

  // A fresh root each time: its listener goes with it when the next ticket's form replaces it.
  const root = h("div", { class: "rate-root" }, levelRow, labelBox, dimensionBox, error, submit);
  fill(container, root);

  function update() {
    for (const button of levelButtons) {
      button.setAttribute("aria-pressed", String(button.dataset.level === chosen.level));
    }
    labelBox.hidden = !bad.has(chosen.level);
    for (const button of labelButtons) {
      button.setAttribute("aria-pressed", String(chosen.labels.has(button.dataset.label)));
    }
    for (const button of root.querySelectorAll(".rate-dim-level")) {
      button.setAttribute("aria-pressed",
        String(chosen.dimensions[button.dataset.dimension] === button.dataset.level));
    }
    submit.disabled = busy;
    submit.textContent = busy ? "正在提交…" : submitText;
  }

  root.addEventListener("click", async (event) => {
    const button = event.target.closest("button");
    if (!button || busy) return;
    if (button.classList.contains("rate-level")) {
      chosen.level = button.dataset.level;
      error.textContent = "";
    } else if (button.classList.contains("rate-label")) {
      const label = button.dataset.label;
      if (chosen.labels.has(label)) chosen.labels.delete(label);
      else chosen.labels.add(label);
      error.textContent = "";
    } else if (button.classList.contains("rate-dim-level")) {
      const { dimension, level } = button.dataset;
      // A second tap takes the answer back: the dimensions are optional.
      if (chosen.dimensions[dimension] === level) delete chosen.dimensions[dimension];
      else chosen.dimensions[dimension] = level;
    } else if (button === submit) {
      if (!chosen.level) {
        error.textContent = "请先选择满意程度";
      } else if (bad.has(chosen.level) && chosen.labels.size === 0) {
        error.textContent = "请至少选择一项不满意的原因";
      } else {
        busy = true;
        error.textContent = "";
        update();
        const labels = bad.has(chosen.level) ? [...chosen.labels] : [];
        let problem = null;
        try {
          problem = await onSubmit({ level: chosen.level, dimensions: { ...chosen.dimensions }, labels });
        } finally {
          busy = false;
        }
        if (problem) error.textContent = problem;
      }
    }
    update();
  });
  update();
}

// The refusal of a rating, in plain Chinese.
export function ratingProblem(result) {
  const p = result.data || {};
  if (result.status === 0) return "网络连接失败，请稍后重试";
  if (result.status === 409) {
    if (p.state === "rated") return "本次服务已评价，感谢您的参与";
    if (p.state === "expired") return "已超过评价时限，感谢您的参与";
    return "该号码尚未办结，暂不能评价";
  }
  if (result.status === 404) return "未找到该号码";
  if (result.status === 403) return "本设备不能评价该号码";
  if (result.status === 400) {
    if (p.field === "labels") return "请至少选择一项不满意的原因";
    return "评价内容有误，请重新选择";
  }
  return "评价暂时无法提交，请稍后重试";
}

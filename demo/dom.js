// DOM helpers shared by the demo's modules (no innerHTML with data: every text goes through
// textContent).

export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function busy(button, text) {
  button.dataset.label ??= button.textContent;
  button.disabled = Boolean(text);
  button.textContent = text || button.dataset.label;
  button.setAttribute("aria-busy", text ? "true" : "false");
}

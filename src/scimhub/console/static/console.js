// scimhub console: copy buttons and the profile menu. The pages work without it.
"use strict";

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "offscreen";
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
}

function announce(button, message) {
  const status = button.closest(".card")?.querySelector(".copy-status");
  if (status) {
    status.textContent = message;
  }
  const label = button.textContent;
  button.textContent = message.startsWith("Copied") ? "Copied" : label;
  window.setTimeout(() => { button.textContent = label; }, 2000);
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (button) {
    const source = document.getElementById(button.dataset.copy);
    copyText(source.textContent.trim()).then(
      () => announce(button, "Copied to the clipboard."),
      () => announce(button, "Could not copy: select the text and copy it."),
    );
  }
  const menu = document.querySelector("details.profile[open]");
  if (menu && !menu.contains(event.target)) {
    menu.open = false;
  }
});

document.addEventListener("keydown", (event) => {
  const menu = document.querySelector("details.profile[open]");
  if (event.key === "Escape" && menu) {
    menu.open = false;
    menu.querySelector("summary").focus();
  }
});

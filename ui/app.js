// Placeholder page: the desktop shell injects `window.__SWITCHYARD__` ({ status, endpoint }) before load.
// The management UI replaces this file; until then there is no IPC, so nothing here can change state.
const state = window.__SWITCHYARD__;
if (state) {
  document.getElementById("status").textContent = state.status;
  if (state.endpoint) {
    document.getElementById("endpoint").textContent = state.endpoint;
  }
}

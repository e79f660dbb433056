// The poster page of a hall (/complaint/{hall}, the QR code on the wall): a complaint without a
// ticket. The hall's name comes from the public hall list.

import { requestJson } from "/display/static/http.js";
import { complaintForm } from "/complaint/static/form.js";

const hall = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || "");
complaintForm(document.getElementById("complaint-form"), `/api/v1/complaint-box/${encodeURIComponent(hall)}`);
window.complaintPage = { hall };

requestJson("/api/v1/halls").then((result) => {
  const found = result.ok && (result.data.halls || []).find((h) => h.id === hall);
  if (found) {
    document.getElementById("hall-name").textContent = found.name;
    document.title = `投诉与建议 · ${found.name}`;
  }
});

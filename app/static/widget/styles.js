// The widget's look. Everything lives inside its shadow root, so the host page's CSS cannot
// reach in and ours cannot leak out; px only, because rem follows the host's <html>.

export const CSS = `
:host { all: initial !important; display: block !important; position: fixed !important;
  top: 0 !important; left: 0 !important; width: 0 !important; height: 0 !important;
  z-index: 2147483000 !important; visibility: visible !important; }
.kk-root { font: 400 15px/1.5 system-ui, -apple-system, "Segoe UI", "Hiragino Sans",
  "Hiragino Kaku Gothic ProN", "Noto Sans JP", "Yu Gothic UI", Meiryo, Roboto, Arial, sans-serif;
  color: #111827; letter-spacing: normal; text-align: left; text-transform: none;
  -webkit-text-size-adjust: 100%; }
.kk-root *, .kk-root *::before, .kk-root *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
button { font: inherit; color: inherit; margin: 0; border: 0; background: none; cursor: pointer;
  -webkit-appearance: none; appearance: none; }
button:disabled { cursor: default; }
:focus { outline: none; }
:focus-visible { outline: 3px solid #0b1f4d; outline-offset: 2px; }
.kk-sr { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }

.kk-launcher { position: fixed; right: calc(20px + var(--kk-dx, 0px)); bottom: calc(20px + var(--kk-dy, 0px)); width: 60px; height: 60px;
  border-radius: 50%; background: #1d4ed8; color: #fff; display: flex; align-items: center;
  justify-content: center; box-shadow: 0 6px 20px rgba(0,0,0,.28); transition: transform .15s; }
.kk-launcher:hover { background: #1e40af; transform: scale(1.05); }
.kk-launcher:focus-visible { outline: 3px solid #fff; box-shadow: 0 0 0 6px #0b1f4d; }
.kk-launcher svg { width: 28px; height: 28px; fill: currentColor; }
.kk-badge { position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #b91c1c; color: #fff; font-size: 12px; font-weight: 700;
  line-height: 22px; text-align: center; border: 2px solid #fff; }

.kk-panel { position: fixed; right: calc(20px + var(--kk-dx, 0px)); bottom: calc(92px + var(--kk-dy, 0px)); width: 380px; max-width: calc(100vw - 40px);
  height: 600px; max-height: calc(100vh - 112px); display: flex; flex-direction: column;
  background: #fff; border: 1px solid #d1d5db; border-radius: 14px; overflow: hidden;
  box-shadow: 0 16px 48px rgba(0,0,0,.28); animation: kk-in .18s ease-out; }
.kk-left .kk-launcher { right: auto; left: calc(20px + var(--kk-vl, 0px)); }
.kk-left .kk-panel { right: auto; left: calc(20px + var(--kk-vl, 0px)); }
@keyframes kk-in { from { opacity: 0; transform: translateY(12px); } to { opacity: 1; transform: none; } }
@media (max-width: 479.98px) {
  .kk-panel, .kk-left .kk-panel { top: var(--kk-vt, 0px); left: var(--kk-vl, 0px); right: auto; bottom: auto;
    width: var(--kk-vw, 100vw); max-width: none; height: var(--kk-vh, 100vh); max-height: none;
    border: 0; border-radius: 0; }
}

.kk-header { display: flex; align-items: center; gap: 8px; padding: 10px 8px 10px 16px;
  background: #1d4ed8; color: #fff; flex: none; }
.kk-title { flex: 1; margin: 0; font-size: 16px; font-weight: 700; line-height: 1.3; color: #fff;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.kk-close { width: 40px; height: 40px; border-radius: 8px; color: #fff; font-size: 24px; line-height: 1; }
.kk-close:hover { background: rgba(255,255,255,.15); }
.kk-close:focus-visible { outline: 3px solid #fff; outline-offset: -3px; }

.kk-banner { flex: none; padding: 8px 16px; font-size: 13px; line-height: 1.4; border-bottom: 1px solid #e5e7eb; }
.kk-conn { background: #fef3c7; color: #713f12; }
.kk-state { background: #eff6ff; color: #1e3a8a; }
.kk-state[data-state="closed"] { background: #f3f4f6; color: #1f2937; }
.kk-state button { display: inline-block; margin-top: 6px; padding: 6px 12px; border-radius: 8px;
  background: #1d4ed8; color: #fff; font-weight: 600; }

.kk-body { flex: 1; overflow-y: auto; padding: 16px; overscroll-behavior: contain; background: #fff; }
.kk-log { display: flex; flex-direction: column; gap: 12px; }
.kk-msg { display: flex; flex-direction: column; align-items: flex-start; max-width: 88%; }
.kk-msg[data-role="customer"] { align-self: flex-end; align-items: flex-end; }
.kk-msg[data-role="system"], .kk-msg[data-kind="notice"] { align-self: center; align-items: center;
  max-width: 92%; text-align: center; }
.kk-author { font-size: 12px; font-weight: 600; color: #374151; margin: 0 4px 2px; }
.kk-bubble { padding: 8px 12px; border-radius: 16px 16px 16px 4px; background: #f1f5f9; color: #111827;
  overflow-wrap: anywhere; max-width: 100%; }
.kk-msg[data-role="customer"] .kk-bubble { background: #1d4ed8; color: #fff; white-space: pre-wrap;
  border-radius: 16px 16px 4px 16px; }
.kk-msg[data-role="agent"] .kk-bubble { background: #ecfdf5; border: 1px solid #a7f3d0; }
.kk-msg[data-role="system"] .kk-bubble, .kk-msg[data-kind="notice"] .kk-bubble { background: none;
  padding: 2px 8px; color: #4b5563; font-size: 13px; }
.kk-msg[data-status="failed"] .kk-bubble { background: #fee2e2; color: #7f1d1d; }
.kk-msg[data-status="sending"] .kk-bubble { opacity: .75; }
.kk-plain { white-space: pre-wrap; }
.kk-bubble p { margin: 0 0 8px; } .kk-bubble p:last-child { margin-bottom: 0; }
.kk-bubble ul, .kk-bubble ol { margin: 4px 0 8px; padding-left: 22px; }
.kk-bubble h1, .kk-bubble h2, .kk-bubble h3, .kk-bubble h4, .kk-bubble h5, .kk-bubble h6 {
  margin: 4px 0 6px; font-size: 15px; font-weight: 700; }
.kk-bubble a { color: #1d4ed8; text-decoration: underline; }
.kk-bubble a:not([href]) { color: inherit; text-decoration: none; }
.kk-empty { margin: 24px 8px; text-align: center; color: #4b5563; font-size: 14px; }
.kk-bubble code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px;
  background: #e2e8f0; padding: 1px 4px; border-radius: 4px; }
.kk-bubble pre { overflow-x: auto; background: #e2e8f0; padding: 8px; border-radius: 6px; }
.kk-bubble pre code { padding: 0; }
.kk-bubble blockquote { margin: 4px 0; padding-left: 10px; border-left: 3px solid #cbd5e1; color: #374151; }
.kk-bubble table { border-collapse: collapse; font-size: 13px; display: block; overflow-x: auto; }
.kk-bubble th, .kk-bubble td { border: 1px solid #cbd5e1; padding: 3px 6px; }
.kk-sources { list-style: none; margin: 4px 4px 0; padding: 0; font-size: 13px; color: #374151; }
.kk-sources a { color: #1d4ed8; text-decoration: underline; }
.kk-feedback { display: flex; align-items: center; gap: 6px; margin: 4px 2px 0; }
.kk-feedback button { width: 34px; height: 30px; border-radius: 15px; border: 1px solid #d1d5db;
  background: #fff; font-size: 15px; line-height: 1; }
.kk-feedback button:hover { background: #f3f4f6; }
.kk-feedback button[aria-pressed="true"] { background: #dbeafe; border-color: #1d4ed8; }
.kk-thanks { font-size: 12px; color: #4b5563; }
.kk-status { font-size: 12px; color: #4b5563; margin: 2px 4px 0; }
.kk-msg[data-status="failed"] .kk-status { color: #b91c1c; }
.kk-status button { color: #1d4ed8; text-decoration: underline; font-weight: 600; margin-left: 6px; padding: 2px; }

.kk-contact { margin-top: 12px; padding: 10px; border: 1px solid #d1d5db; border-radius: 12px; background: #f9fafb; }
.kk-contact p { margin: 0 0 6px; font-size: 13px; color: #374151; }
.kk-time { font-size: 11px; color: #6b7280; margin: 2px 6px 0; }
.kk-msg[data-role="system"] .kk-time, .kk-msg[data-kind="notice"] .kk-time { margin-top: 0; }
.kk-choices { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
.kk-choice { padding: 6px 12px; border-radius: 16px; border: 1px solid #1d4ed8; color: #1d4ed8; background: #fff;
  font-size: 14px; font-weight: 600; line-height: 1.3; text-align: left; }
.kk-choice:hover { background: #eff6ff; }
.kk-choice[aria-pressed="true"] { background: #1d4ed8; color: #fff; }
.kk-choice-person { border-color: #6b7280; color: #374151; }
.kk-actions { display: flex; flex-wrap: wrap; gap: 8px; }
.kk-end { display: inline-block; margin-bottom: 8px; padding: 5px 12px; border-radius: 15px;
  border: 1px solid #6b7280; color: #374151; font-size: 13px; font-weight: 600; background: #fff; }
.kk-end:hover:not(:disabled) { background: #f3f4f6; }
.kk-end:disabled { color: #6b7280; }
.kk-confirm { margin-bottom: 8px; padding: 8px 10px; border-radius: 10px; background: #fef2f2;
  border: 1px solid #fecaca; font-size: 14px; }
.kk-confirm p { margin: 0 0 6px; }
.kk-confirm button { padding: 5px 12px; border-radius: 8px; font-weight: 600; margin-right: 6px;
  border: 1px solid #6b7280; background: #fff; }
.kk-confirm button.kk-danger { background: #b91c1c; border-color: #b91c1c; color: #fff; }
.kk-csat { margin-top: 16px; padding: 12px; border: 1px solid #d1d5db; border-radius: 12px;
  background: #f9fafb; text-align: center; }
.kk-csat-q { margin: 0 0 8px; font-weight: 700; }
.kk-csat-scores { display: flex; justify-content: center; gap: 4px; }
.kk-csat-scores button { display: flex; flex-direction: column; align-items: center; width: 62px;
  padding: 6px 2px; border-radius: 10px; border: 1px solid transparent; font-size: 11px;
  line-height: 1.2; color: #374151; }
.kk-csat-scores button:hover:not(:disabled) { background: #eff6ff; }
.kk-csat-scores button[aria-pressed="true"] { background: #dbeafe; border-color: #1d4ed8; color: #1e3a8a; }
.kk-csat-face { font-size: 26px; line-height: 1.2; }
.kk-csat-thanks { margin: 8px 0 0; color: #065f46; font-weight: 600; }
.kk-csat form { display: flex; flex-direction: column; gap: 6px; margin-top: 8px; text-align: left; }
.kk-csat form .kk-send { align-self: flex-end; height: 36px; }
.kk-contact .kk-input { min-height: 38px; padding: 7px 10px; }
.kk-contact .kk-send { height: 38px; }
.kk-typing { display: flex; gap: 4px; align-items: center; width: max-content; margin-top: 12px;
  padding: 12px 14px; border-radius: 16px 16px 16px 4px; background: #f1f5f9; }
.kk-dot { width: 7px; height: 7px; border-radius: 50%; background: #4b5563; animation: kk-bounce 1.2s infinite ease-in-out; }
.kk-dot:nth-child(2) { animation-delay: .15s; } .kk-dot:nth-child(3) { animation-delay: .3s; }
@keyframes kk-bounce { 0%, 60%, 100% { transform: translateY(0); opacity: .5; } 30% { transform: translateY(-5px); opacity: 1; } }
@media (prefers-reduced-motion: reduce) {
  .kk-panel { animation: none; } .kk-launcher { transition: none; }
  .kk-dot { animation: kk-fade 1.6s infinite; }
  @keyframes kk-fade { 50% { opacity: .3; } }
}

.kk-composer { flex: none; border-top: 1px solid #e5e7eb; padding: 8px 12px 12px; background: #fff; }
.kk-handoff { display: inline-block; margin-bottom: 8px; padding: 5px 12px; border-radius: 15px;
  border: 1px solid #1d4ed8; color: #1d4ed8; font-size: 13px; font-weight: 600; background: #fff; }
.kk-handoff:hover:not(:disabled) { background: #eff6ff; }
.kk-handoff:disabled { border-color: #9ca3af; color: #4b5563; }
.kk-row { display: flex; gap: 8px; align-items: flex-end; }
.kk-input { flex: 1; min-width: 0; resize: none; min-height: 42px; max-height: 140px; margin: 0;
  padding: 9px 12px; border: 1px solid #6b7280; border-radius: 10px; background: #fff; color: #111827;
  font: inherit; font-size: 16px; line-height: 1.4; }
.kk-input::placeholder { color: #6b7280; opacity: 1; }
.kk-input:focus-visible { outline: 3px solid #0b1f4d; outline-offset: 0; }
.kk-input:disabled { background: #f3f4f6; }
.kk-send { flex: none; height: 42px; padding: 0 16px; border-radius: 10px; background: #1d4ed8;
  color: #fff; font-weight: 700; }
.kk-send:hover:not(:disabled) { background: #1e40af; }
.kk-send:disabled { background: #e5e7eb; color: #4b5563; }
.kk-attach { flex: none; width: 42px; height: 42px; border-radius: 10px; border: 1px solid #6b7280;
  color: #374151; background: #fff; display: flex; align-items: center; justify-content: center; }
.kk-attach svg { width: 22px; height: 22px; fill: currentColor; }
.kk-attach:hover:not(:disabled) { background: #f3f4f6; }
.kk-attach:disabled { color: #9ca3af; border-color: #d1d5db; }

.kk-files { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 6px;
  align-items: flex-start; max-width: 100%; }
.kk-bubble + .kk-files { margin-top: 6px; }
.kk-msg[data-role="customer"] .kk-files { align-items: flex-end; }
.kk-files li { max-width: 100%; }
.kk-thumb { display: block; padding: 0; border-radius: 14px; overflow: hidden; border: 1px solid #d1d5db;
  background: #e5e7eb; line-height: 0; max-width: 100%; }
.kk-thumb img { display: block; max-width: 100%; height: auto; }
.kk-thumb:hover img { opacity: .92; }
.kk-file { display: flex; align-items: center; gap: 8px; padding: 8px 12px; border-radius: 12px;
  border: 1px solid #d1d5db; background: #fff; color: #111827; text-align: left; max-width: 100%; }
.kk-file:hover { background: #f9fafb; }
.kk-file[data-error="true"] { border-color: #b91c1c; }
.kk-file-icon { flex: none; line-height: 0; }
.kk-file-icon svg { width: 24px; height: 24px; fill: #b91c1c; }
.kk-file-name { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 0; }
.kk-file-size { font-size: 12px; color: #4b5563; flex: none; }
.kk-upload { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 8px; max-width: 260px; }
.kk-msg[data-role="customer"] .kk-upload .kk-file-size { color: #dbeafe; }
.kk-msg[data-status="failed"] .kk-upload .kk-file-size { color: #7f1d1d; }
.kk-progress { flex-basis: 100%; width: 100%; height: 6px; accent-color: #93c5fd; }
.kk-viewer { position: fixed; top: var(--kk-vt, 0px); left: var(--kk-vl, 0px); width: var(--kk-vw, 100vw);
  height: var(--kk-vh, 100vh); background: rgba(17,24,39,.9); display: flex; flex-direction: column; }
.kk-viewer-bar { display: flex; align-items: center; gap: 8px; padding: 8px 8px 8px 16px; color: #fff; flex: none; }
.kk-viewer-name { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-weight: 600; }
.kk-viewer-save { padding: 7px 14px; border-radius: 8px; background: #fff; color: #111827; font-weight: 600; }
.kk-viewer-close { width: 44px; height: 44px; border-radius: 8px; color: #fff; font-size: 30px; line-height: 1; }
.kk-viewer-close:hover { background: rgba(255,255,255,.15); }
.kk-viewer button:focus-visible { outline: 3px solid #fff; outline-offset: 2px; }
.kk-viewer-body { flex: 1; min-height: 0; display: flex; align-items: center; justify-content: center; padding: 8px 16px 16px; }
.kk-viewer-img { max-width: 100%; max-height: 100%; object-fit: contain; }
.kk-counter { font-size: 12px; color: #4b5563; text-align: right; margin-top: 4px; }
.kk-counter[data-over="true"] { color: #b91c1c; font-weight: 700; }
`;

// Static markup only: nothing from the server, the page or the customer is interpolated.
export const CHAT_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M12 3C6.5 3 2 6.6 2 11c0 2.4 ' +
  "1.3 4.5 3.4 6L4.6 21l4.3-2.3c1 .3 2 .4 3.1.4 5.5 0 10-3.6 10-8s-4.5-8-10-8zm-4 9.2a1.2 1.2 0 1 1 0-2.4 " +
  "1.2 1.2 0 0 1 0 2.4zm4 0a1.2 1.2 0 1 1 0-2.4 1.2 1.2 0 0 1 0 2.4zm4 0a1.2 1.2 0 1 1 0-2.4 1.2 1.2 0 0 1 " +
  '0 2.4z"/></svg>';
export const CLOSE_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M6.4 5L5 6.4 10.6 12 5 17.6 6.4 19 ' +
  '12 13.4 17.6 19 19 17.6 13.4 12 19 6.4 17.6 5 12 10.6z"/></svg>';

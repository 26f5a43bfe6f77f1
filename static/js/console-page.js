// The console page's entry point (a file, not an inline script, so the CSP can forbid inline code).
import RFB from "../vendor/novnc/core/rfb.js";
import { startConsole } from "./console.js";

startConsole(RFB, document.getElementById("console-app"));

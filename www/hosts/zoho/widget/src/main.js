// The widget page's script (bundled as app/js/spotdraft-zoho-widget.js): starts the host once
// widget.html has loaded Zoho's SDK, which it does first.
import { startWidget } from "./host.js";

startWidget();

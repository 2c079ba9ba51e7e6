// SpotDraft requests per relay job, counted by the sandbox. Prints JSON.
import { measureRequestsPerJob } from "./request-budgets.mjs";

console.log(JSON.stringify(await measureRequestsPerJob()));

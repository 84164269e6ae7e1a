/** Where promtool is (Debian's `prometheus` package installs /usr/bin/promtool), and the rules file. */
import * as fs from "node:fs";
import * as path from "node:path";

export const PROMTOOL = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find((p) => fs.existsSync(p));
export const PROMTOOL_MISSING = PROMTOOL ? undefined : "promtool (Debian: apt-get install --no-install-recommends prometheus)";
export const RULES = path.join(__dirname, "..", "..", "examples", "prometheus", "kube-pki.rules.yml");

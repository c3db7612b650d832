/**
 * Access rules of a vhost, as SRS applies them (srs_app_refer.cpp, srs_app_security.cpp):
 *
 * refer { enabled on; all D...; publish D...; play D...; } — the host of the client's
 * pageUrl (scheme, path and port removed) must end with one of the listed domains: `all`
 * applies to play and publish, then `publish` or `play` for that action. A list that is not
 * written does not check anything; when a list applies, an empty or missing pageUrl fails.
 * Suffix match as SRS, with no dot boundary: `a.com` also allows `evila.com`. (SRS finds the
 * first occurrence of the domain and wants it at the end; we test the end directly, and
 * compare case-insensitively, as host names are.)
 *
 * security { enabled on; allow|deny play|publish all|IP|CIDR; } — SRS's rule, whatever the
 * order in the file:
 *   1. every deny rule of that action is checked first: a match refuses;
 *   2. then an allow rule of that action that matches allows;
 *   3. otherwise the client is refused if there is any allow rule at all (of either action)
 *      or no rule at all, and allowed if there are only deny rules.
 * So `deny publish 1.2.3.4;` alone lets everyone else publish and everyone play, while
 * `allow play all;` alone refuses every publish.
 *
 * SRS checks `refer all` at connect, then security, then `refer play|publish`; Sluice checks
 * the three in that order when the client publishes or plays, and refuses that one request
 * (NetStream.Publish.Rejected / NetStream.Play.Rejected) and closes, where SRS closes the
 * connection without a status.
 */
import type { AccessAction, ReferConfig, SecurityConfig, SecurityRule, VhostConfig } from "../conf/config.js";
import { ipMatches, parseIpMatch } from "../conf/ip-match.js";

/** The domain SRS compares: pageUrl without scheme, path and port. */
export function pageUrlHost(pageUrl: string): string {
  let host = pageUrl;
  const scheme = host.indexOf("://");
  if (scheme >= 0) host = host.slice(scheme + 3);
  const slash = host.indexOf("/");
  if (slash >= 0) host = host.slice(0, slash);
  const colon = host.indexOf(":");
  if (colon >= 0) host = host.slice(0, colon);
  return host.toLowerCase();
}

function referList(refer: ReferConfig, list: "all" | AccessAction, pageUrl: string): string | undefined {
  const domains = refer[list];
  if (domains.length === 0) return undefined;
  const host = pageUrlHost(pageUrl);
  if (host !== "" && domains.some((d) => host.endsWith(d.toLowerCase()))) return undefined;
  return `refer ${list} ${domains.join(" ")}: pageUrl ${JSON.stringify(pageUrl)} not allowed`;
}

/** Why refer refuses the `pageUrl` for `action` at `list` ("all" or the action), or undefined. */
export function checkRefer(refer: ReferConfig, action: AccessAction, pageUrl: string, list: "all" | "action" | "both" = "both"): string | undefined {
  if (!refer.enabled) return undefined;
  if (list !== "action") {
    const why = referList(refer, "all", pageUrl);
    if (why) return why;
  }
  return list === "all" ? undefined : referList(refer, action, pageUrl);
}

function ruleMatches(rule: SecurityRule, ip: string): boolean {
  if (rule.match === "all") return true;
  const m = parseIpMatch(rule.match);
  return m !== undefined && ipMatches(m, ip);
}

function describeRule(rule: SecurityRule): string {
  return `security rule "${rule.action} ${rule.kind} ${rule.match}" (${rule.where})`;
}

/** Why security refuses `ip` for `action`, or undefined when it allows it. */
export function checkSecurity(security: SecurityConfig, action: AccessAction, ip: string): string | undefined {
  if (!security.enabled) return undefined;
  const rules = security.rules;
  if (rules.length === 0) return "security enabled without rules: every client is refused";
  for (const rule of rules) {
    if (rule.action === "deny" && rule.kind === action && ruleMatches(rule, ip)) return `denied by ${describeRule(rule)}`;
  }
  let allowRules = 0;
  for (const rule of rules) {
    if (rule.action !== "allow") continue;
    allowRules++;
    if (rule.kind === action && ruleMatches(rule, ip)) return undefined;
  }
  if (allowRules > 0) return `not allowed by any of the ${allowRules} security allow rules`;
  return undefined;
}

/** Why the vhost refuses this play or publish, naming the rule, or undefined when allowed. */
export function checkAccess(vhost: VhostConfig, action: AccessAction, ip: string, pageUrl: string): string | undefined {
  return (
    checkRefer(vhost.refer, action, pageUrl, "all") ??
    checkSecurity(vhost.security, action, ip) ??
    checkRefer(vhost.refer, action, pageUrl, "action")
  );
}

/**
 * A server's `policy`: what a caller may do on its route. The shape only; the `when` expressions
 * are checked at load by config/cel.ts (their errors reported as `path: message`), and compiled
 * for evaluation by auth/policy.ts. The main schema holds it as `policy: policySchema.optional()` on a server.
 *
 *   policy:
 *     scopes: [math:read]                          # needed on every request of the route
 *     tools:
 *       add: { scopes: [math:write] }              # extra scopes to call this tool
 *       "admin_*": { when: 'claims.groups.exists(g, g == "ops")' }
 *     prompts:   { "<name or glob>": { scopes, when } }   # prompts/get
 *     resources: { "<uri glob>": { scopes, when } }       # resources/read
 *
 * A key is a name or a glob: `*` matches any run of characters (none included), everything else
 * is literal. Every rule whose key matches a name applies to it.
 */
import { z } from 'zod';

/** RFC 6749 §3.3 scope-token: printable ASCII but space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export const scopeSchema = z.string().regex(SCOPE_TOKEN, { error: 'must be a scope token: printable ASCII without spaces, " or \\' });

const scopeList = z.array(scopeSchema).default([]);

/** What one name or glob needs: extra scopes, a CEL condition, or both. */
export const policyRuleSchema = z
  .strictObject({
    /** Scopes the token needs, besides the route's, to call what this rule matches. */
    scopes: scopeList,
    /** A CEL condition over `claims`, `name`, `server` and `kind`; false, an error or a non-bool denies. */
    when: z.string().trim().min(1, { error: 'must not be empty' }).optional(),
  })
  .refine((rule) => rule.scopes.length > 0 || rule.when !== undefined, { error: 'must set scopes or when (a rule with neither changes nothing)' });

export type PolicyRuleConfig = z.infer<typeof policyRuleSchema>;

const ruleMap = z
  .record(z.string().min(1, { error: 'a name or glob must not be empty' }), policyRuleSchema, { error: 'must be a map of name or glob to { scopes, when }' })
  .default({});

export const policySchema = z.strictObject({
  /** Scopes needed on every request of the route. */
  scopes: scopeList,
  /** Tool names or globs, for tools/call (and the tools/list a caller sees). */
  tools: ruleMap,
  /** Prompt names or globs, for prompts/get (and prompts/list). */
  prompts: ruleMap,
  /** Resource URI globs, for resources/read (and resources/list). `*` crosses `/`. */
  resources: ruleMap,
});

export type PolicyConfig = z.infer<typeof policySchema>;

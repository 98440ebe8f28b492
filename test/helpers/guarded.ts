/**
 * The OAuth tests' shared setting: the scopes the authorization server grants, a client whose
 * tokens say it is in `ops`, and the policy the guarded fixture (fixtures/guarded.ts) runs under.
 */
export const SCOPES = ['math:read', 'math:write', 'secrets'];
export const OPS = { client_id: 'ops', client_secret: 'ops-secret-0123456789', claims: { groups: ['ops'] } };
export const POLICY = {
  scopes: ['math:read'],
  tools: { add: { scopes: ['math:write'] }, write_file: { scopes: ['math:write'] }, 'admin_*': { when: 'claims.groups.exists(g, g == "ops")' } },
  prompts: { admin_prompt: { when: '"groups" in claims && "ops" in claims.groups' } },
  resources: { 'file:///secret/*': { scopes: ['secrets'] } },
};

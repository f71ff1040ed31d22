-- Asks the operator to promote the canary now: it skips the rest of the
-- running rollout, or ends a pause.
-- The operator acts once and removes the annotation; its value is when the
-- request was made.
-- Argo CD runs argocd-cm scripts without a global os; its safe os library
-- is there to require.
local os = require("os")
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["lifecycle.aipm.io/promote"] = os.date("!%Y-%m-%dT%H:%M:%SZ")
return obj

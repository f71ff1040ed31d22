-- Asks the operator to restart an aborted or inconclusive rollout of the
-- desired version from its first step.
-- The operator acts once and removes the annotation; its value is when the
-- request was made.
-- Argo CD runs argocd-cm scripts without a global os; its safe os library
-- is there to require.
local os = require("os")
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["lifecycle.aipm.io/retry"] = os.date("!%Y-%m-%dT%H:%M:%SZ")
return obj

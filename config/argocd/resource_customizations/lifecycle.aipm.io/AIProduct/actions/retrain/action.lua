-- Asks the operator to start a retraining run now (trigger Manual).
-- The operator acts once and removes the annotation; its value is when the
-- request was made.
-- Argo CD runs argocd-cm scripts without a global os; its safe os library
-- is there to require.
local os = require("os")
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["lifecycle.aipm.io/retrain"] = os.date("!%Y-%m-%dT%H:%M:%SZ")
return obj

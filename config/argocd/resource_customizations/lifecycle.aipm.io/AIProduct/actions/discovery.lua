-- Argo CD resource actions of a lifecycle.aipm.io AIProduct.
--
-- Each action sets one request annotation on the live object; the operator
-- acts on it once and removes it. An action is enabled only while the
-- operator would act on its request, and only in Delivery, the one phase in
-- which the operator reads these requests.
local actions = {}

local status = obj.status or {}
local inDelivery = status.phase == "Delivery"
local rolloutPhase = nil
if status.rollout ~= nil then
  rolloutPhase = status.rollout.phase
end
local running = rolloutPhase == "Progressing" or rolloutPhase == "Paused" or rolloutPhase == "Inconclusive"
local retryable = rolloutPhase == "Aborted" or rolloutPhase == "Inconclusive"
local retrains = obj.spec ~= nil and obj.spec.delivery ~= nil and obj.spec.delivery.retraining ~= nil

actions["promote"] = {
  ["disabled"] = not (inDelivery and running),
  ["displayName"] = "Promote the canary",
  ["iconClass"] = "fa fa-fw fa-forward",
}
actions["abort"] = {
  -- A promotion still moving traffic can be aborted too.
  ["disabled"] = not (inDelivery and (running or rolloutPhase == "Promoting")),
  ["displayName"] = "Abort the rollout",
  ["iconClass"] = "fa fa-fw fa-undo",
}
actions["retry"] = {
  ["disabled"] = not (inDelivery and retryable),
  ["displayName"] = "Retry the rollout",
  ["iconClass"] = "fa fa-fw fa-redo",
}
actions["retrain"] = {
  ["disabled"] = not (inDelivery and retrains),
  ["displayName"] = "Retrain now",
  ["iconClass"] = "fa fa-fw fa-sync",
}
return actions

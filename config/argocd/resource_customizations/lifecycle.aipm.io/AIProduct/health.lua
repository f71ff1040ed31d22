-- Argo CD health of a lifecycle.aipm.io AIProduct.
--
-- It reads what the operator writes: observedGeneration, the kstatus
-- conditions Ready and Stalled, status.phase and status.rollout. It uses
-- only the base and table libraries, the ones Argo CD opens for a script.
-- A deleting object never reaches it: Argo CD calls it Progressing,
-- "Pending deletion", before it runs a health script.
--
--   no status, or generation not yet observed                   -> Progressing
--   Ready False with reason GateBlocked                         -> Suspended
--   Stalled True (aborted rollout, pinned version not Eligible) -> Degraded
--   in Delivery, rollout Paused or Inconclusive                 -> Suspended
--   Ready True                                                  -> Healthy
--   in Delivery, rollout Aborted                                -> Degraded
--   anything else                                               -> Progressing
local hs = {}

local function findCondition(conditions, conditionType)
  if conditions == nil then
    return nil
  end
  for _, condition in ipairs(conditions) do
    if condition.type == conditionType then
      return condition
    end
  end
  return nil
end

-- firstMessage returns the first of its arguments that is a non-empty
-- string; arguments may be nil.
local function firstMessage(...)
  for i = 1, select("#", ...) do
    local message = select(i, ...)
    if message ~= nil and message ~= "" then
      return message
    end
  end
  return ""
end

local status = obj.status
-- The API server serves observedGeneration 0 until the operator first
-- writes status.
if status == nil or status.observedGeneration == nil or status.observedGeneration == 0 then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator"
  return hs
end
if obj.metadata.generation ~= nil and status.observedGeneration < obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. obj.metadata.generation
  return hs
end

local ready = findCondition(status.conditions, "Ready")
local reconciling = findCondition(status.conditions, "Reconciling")
local stalled = findCondition(status.conditions, "Stalled")

if ready ~= nil and ready.status == "False" and ready.reason == "GateBlocked" then
  -- Held at a phase gate until the team meets its requirements (Stalled
  -- too when only a person can open it).
  hs.status = "Suspended"
  hs.message = firstMessage(ready.message, "held at a phase gate")
  return hs
end

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = firstMessage(stalled.message, stalled.reason, "Stalled")
  return hs
end

-- The rollout only describes the product while it is in Delivery; in an
-- earlier phase it is what the last Delivery left behind. A rollout that
-- waits for a person is Ready (the operator has done all it can), and
-- Suspended here.
local rollout = status.rollout
local delivering = status.phase == "Delivery" and rollout ~= nil
if delivering and (rollout.phase == "Paused" or rollout.phase == "Inconclusive") then
  hs.status = "Suspended"
  hs.message = firstMessage(rollout.message, "rollout of " .. tostring(rollout.canaryVersion) .. " is " .. rollout.phase)
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  if status.phase == nil then
    hs.message = firstMessage(ready.message)
  elseif status.phase == "Delivery" and status.productionVersion ~= nil and status.productionVersion ~= "" then
    hs.message = status.phase .. "; serving " .. status.productionVersion
  else
    hs.message = status.phase
  end
  return hs
end

if delivering and rollout.phase == "Aborted" then
  hs.status = "Degraded"
  hs.message = firstMessage(rollout.message, "rollout of " .. tostring(rollout.canaryVersion) .. " aborted")
  return hs
end

hs.status = "Progressing"
hs.message = firstMessage(ready and ready.message, reconciling and reconciling.message, "Waiting for the operator")
return hs

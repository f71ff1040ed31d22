-- Argo CD health of a lifecycle.aipm.io ModelVersion.
--
-- It reads what the operator writes: observedGeneration, status.stage,
-- status.stageReason, status.eligible and the Ready and Eligible
-- conditions. It uses only the base and table libraries, the ones Argo CD
-- opens for a script. A deleting object never reaches it: Argo CD calls it
-- Progressing, "Pending deletion", before it runs a health script.
--
--   no status, or generation not yet observed                 -> Progressing
--   stage Rejected                                            -> Degraded
--   its independent evaluation running                        -> Progressing
--   Ready False (such as waiting for its AIProduct)           -> Progressing
--   otherwise                                                 -> Healthy
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

if status.stage == "Rejected" then
  hs.status = "Degraded"
  hs.message = "Rejected: " .. firstMessage(status.stageReason, "no reason recorded")
  return hs
end

if status.evaluation ~= nil and status.evaluation.phase == "Running" then
  hs.status = "Progressing"
  hs.message = "Evaluating: Job " .. firstMessage(status.evaluation.job, "not created yet")
  return hs
end

local ready = findCondition(status.conditions, "Ready")
if ready ~= nil and ready.status == "False" then
  hs.status = "Progressing"
  hs.message = firstMessage(ready.message, ready.reason, "Waiting for the operator")
  return hs
end

local stage = firstMessage(status.stage, "Candidate")
hs.status = "Healthy"
if status.eligible == true then
  hs.message = stage .. "; eligible"
else
  local eligible = findCondition(status.conditions, "Eligible")
  local why = eligible and eligible.status == "False" and eligible.message or nil
  if why ~= nil and why ~= "" then
    hs.message = stage .. "; not eligible: " .. why
  else
    hs.message = stage .. "; not eligible"
  end
end
return hs

/*
Copyright 2026 The aipm-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package retrainingrun

import (
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/backend"
	"github.com/aipm-io/aipm-operator/internal/notify"
	"github.com/aipm-io/aipm-operator/internal/retrain"
)

// The decisions of a reconcile, kept apart from its reads and writes so that
// each can be tested as a table: what to do given the run and its workload, and
// what the status says after each outcome.

// step is what a reconcile does next for a run.
type step int

const (
	// stepNone: the run is finished or going away; nothing to do.
	stepNone step = iota
	// stepCreate: the run has no workload yet; create decision.workload.
	stepCreate
	// stepFollow: the workload runs; the run is Running until it ends.
	stepFollow
	// stepCollect: the workload succeeded; read its result and register
	// it.
	stepCollect
	// stepFail: the run failed, for decision.reason.
	stepFail
	// stepWait: the engine cannot take the run yet (its CRD or runtime is
	// missing); the run stays Pending.
	stepWait
)

// decision is the next step, and what it needs.
type decision struct {
	step    step
	reason  string
	message string
	// at is when the failure happened, as the engine tells it; nil for
	// now.
	at *metav1.Time
	// workload is the workload to create, rendered and checked.
	workload client.Object
}

func failure(reason, format string, args ...any) decision {
	return decision{step: stepFail, reason: reason, message: fmt.Sprintf(format, args...)}
}

// builder renders the workload of a run; called only when the run has
// none, for it may read (a TrainJob's runtime).
type builder func() (client.Object, error)

// decide chooses the next step of run from its workload: obj is the
// workload of the run's name as the API server holds it, nil when there is
// none (the caller confirms with the API server before it says a recorded
// workload is gone).
func decide(run *lifecyclev1alpha1.RetrainingRun, eng backend.Engine, obj client.Object, build builder) decision {
	if run.DeletionTimestamp != nil || run.Status.Phase.Finished() {
		return decision{step: stepNone}
	}
	kind := eng.GVK().Kind
	if obj == nil {
		if w := run.Status.Workload; w != nil {
			return failure(lifecyclev1alpha1.ReasonWorkloadDeleted, "%s %s was deleted before it finished", kind, w.Name)
		}
		// Checked at the moment the operator lends its rights: a workload
		// it created earlier was checked then, under the same immutable
		// spec.
		w, err := build()
		var unavailable *backend.UnavailableError
		switch {
		case errors.As(err, &unavailable):
			return decision{step: stepWait, reason: lifecyclev1alpha1.ReasonBackendUnavailable, message: err.Error()}
		case err != nil:
			return failure(lifecyclev1alpha1.ReasonTemplateRefused, "%s", err.Error())
		}
		return decision{step: stepCreate, workload: w}
	}
	if !metav1.IsControlledBy(obj, run) {
		// The name is the run's own, derived from its trigger; a workload
		// of that name controlled by anything else is not this run's
		// training, and reading its result would register someone else's
		// model.
		if run.Status.Workload == nil {
			return failure(lifecyclev1alpha1.ReasonWorkloadRefused, "%s %s already exists and is not controlled by this run", kind, obj.GetName())
		}
		return failure(lifecyclev1alpha1.ReasonWorkloadDeleted,
			"%s %s was deleted before it finished; a %s of that name not controlled by this run took its place", kind, obj.GetName(), kind)
	}
	switch p := eng.Progress(obj); p.Phase {
	case backend.Failed:
		d := failure(lifecyclev1alpha1.ReasonWorkloadFailed, "%s %s failed: %s", kind, obj.GetName(), p.Why)
		if p.At != nil && !p.At.IsZero() {
			d.at = p.At.DeepCopy()
		}
		return d
	case backend.Succeeded:
		return decision{step: stepCollect}
	}
	return decision{step: stepFollow}
}

// trainingResult is the result as the run's status records it.
func trainingResult(res *retrain.Result) *lifecyclev1alpha1.TrainingResult {
	out := &lifecyclev1alpha1.TrainingResult{
		Artifact: lifecyclev1alpha1.Artifact{URI: res.Artifact.URI,
			Format: lifecyclev1alpha1.ModelFormat(res.Artifact.Format), Digest: res.Artifact.Digest},
	}
	out.Metrics = res.List()
	if res.Dataset != nil {
		out.Dataset = &lifecyclev1alpha1.Dataset{URI: res.Dataset.URI, Digest: res.Dataset.Digest}
		if w := res.Dataset.Window; w != nil {
			// To the second, as the API server keeps times.
			out.Dataset.Window = &lifecyclev1alpha1.TimeWindow{Start: metav1.NewTime(w.Start.Truncate(time.Second)),
				End: metav1.NewTime(w.End.Truncate(time.Second))}
		}
	}
	return out
}

// modelVersion is the ModelVersion a run registers. It has no owner: a
// version outlives the run and the product that made it, as a record of
// what was trained and served. Its lineage names the workload that
// trained it, whatever its engine.
func modelVersion(run *lifecyclev1alpha1.RetrainingRun, workload string, res *lifecyclev1alpha1.TrainingResult) *lifecyclev1alpha1.ModelVersion {
	product := string(run.Spec.Product)
	return &lifecyclev1alpha1.ModelVersion{
		ObjectMeta: metav1.ObjectMeta{
			Name:      retrain.VersionName(product, run.Spec.TargetVersion),
			Namespace: run.Namespace,
			Labels:    map[string]string{lifecyclev1alpha1.LabelProduct: product},
		},
		Spec: lifecyclev1alpha1.ModelVersionSpec{
			Product:  run.Spec.Product,
			Version:  run.Spec.TargetVersion,
			Artifact: res.Artifact,
			Metrics:  res.Metrics,
			Lineage: &lifecyclev1alpha1.Lineage{
				Trigger:       run.Spec.Trigger.Kind,
				TrainingJob:   workload,
				TrainingKind:  trainingKind(run.Spec.Backend),
				ParentVersion: run.Spec.ParentVersion,
				Dataset:       res.Dataset,
			},
		},
	}
}

// trainingKind is the lineage's kind of the training workload: empty for
// a Job, as versions trained before other engines existed record it.
func trainingKind(b lifecyclev1alpha1.TrainingBackend) string {
	if b == "" || b == lifecyclev1alpha1.BackendJob {
		return ""
	}
	return string(b)
}

// producedBy reports whether mv is the version the workload trained: a
// version of the target name that an earlier attempt of this run
// registered.
func producedBy(mv *lifecyclev1alpha1.ModelVersion, workload string) bool {
	return mv.Spec.Lineage != nil && mv.Spec.Lineage.TrainingJob == workload
}

// markWorkload records the workload the run follows.
func markWorkload(st *lifecyclev1alpha1.RetrainingRunStatus, kind string, obj client.Object, now metav1.Time) {
	st.Workload = &lifecyclev1alpha1.WorkloadRef{Kind: kind, Name: obj.GetName()}
	if st.StartTime == nil {
		t := obj.GetCreationTimestamp()
		if t.IsZero() {
			t = now
		}
		st.StartTime = &t
	}
}

func markPending(st *lifecyclev1alpha1.RetrainingRunStatus, reason, msg string) {
	st.Phase, st.Reason, st.Message = lifecyclev1alpha1.RunPending, reason, msg
}

func markRunning(st *lifecyclev1alpha1.RetrainingRunStatus, kind string, obj client.Object, now metav1.Time) {
	markWorkload(st, kind, obj, now)
	st.Phase, st.Reason = lifecyclev1alpha1.RunRunning, lifecyclev1alpha1.ReasonRunRunning
	st.Message = kind + " " + obj.GetName() + " is running"
}

func markFailed(st *lifecyclev1alpha1.RetrainingRunStatus, d decision, now metav1.Time) {
	st.Phase, st.Reason, st.Message = lifecyclev1alpha1.RunFailed, d.reason, d.message
	at := now
	if d.at != nil {
		at = *d.at
	}
	complete(st, at)
}

func markSucceeded(st *lifecyclev1alpha1.RetrainingRunStatus, kind string, obj client.Object, done *metav1.Time, mv string, now metav1.Time) {
	st.Phase, st.Reason = lifecyclev1alpha1.RunSucceeded, lifecyclev1alpha1.ReasonRegistered
	st.Message = kind + " " + obj.GetName() + " registered ModelVersion " + mv
	st.ModelVersion = mv
	at := now
	if done != nil && !done.IsZero() {
		at = *done
	}
	complete(st, at)
}

// complete records when the run ended, never before it started: the two
// come from different clocks (the Job's creation, its controller's
// completion, this operator's), and a run's duration is never negative.
func complete(st *lifecyclev1alpha1.RetrainingRunStatus, at metav1.Time) {
	if st.StartTime != nil && at.Before(st.StartTime) {
		at = *st.StartTime
	}
	st.CompletionTime = &at
}

// setConditions derives the kstatus conditions from the phase, so that they
// can never disagree with it: a run in progress is Reconciling, a
// succeeded one Ready, a failed one Stalled, for a failed run is final and
// only a new run, from a new trigger, trains again. Their changes make no
// Events (notify.SetCondition would record three Warnings for one failure):
// the run's own Events tell its story once.
func setConditions(run *lifecyclev1alpha1.RetrainingRun, now metav1.Time) {
	st := &run.Status
	st.ObservedGeneration = run.Generation
	conds := &st.Conditions
	set := func(typ string, status metav1.ConditionStatus) {
		meta.SetStatusCondition(conds, metav1.Condition{Type: typ, Status: status, Reason: st.Reason,
			Message: st.Message, ObservedGeneration: run.Generation, LastTransitionTime: now})
	}
	switch st.Phase {
	case lifecyclev1alpha1.RunSucceeded:
		set(lifecyclev1alpha1.ConditionReady, metav1.ConditionTrue)
		set(lifecyclev1alpha1.ConditionSucceeded, metav1.ConditionTrue)
		notify.Clear(conds, lifecyclev1alpha1.ConditionReconciling)
		notify.Clear(conds, lifecyclev1alpha1.ConditionStalled)
	case lifecyclev1alpha1.RunFailed:
		set(lifecyclev1alpha1.ConditionReady, metav1.ConditionFalse)
		set(lifecyclev1alpha1.ConditionSucceeded, metav1.ConditionFalse)
		set(lifecyclev1alpha1.ConditionStalled, metav1.ConditionTrue)
		notify.Clear(conds, lifecyclev1alpha1.ConditionReconciling)
	default:
		if st.Phase == "" {
			markPending(st, lifecyclev1alpha1.ReasonRunPending, "the workload is not created yet")
		}
		set(lifecyclev1alpha1.ConditionReady, metav1.ConditionFalse)
		set(lifecyclev1alpha1.ConditionReconciling, metav1.ConditionTrue)
		notify.Clear(conds, lifecyclev1alpha1.ConditionStalled)
		notify.Clear(conds, lifecyclev1alpha1.ConditionSucceeded)
	}
}

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

package evaluate

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func version(name, uid string) *lifecyclev1alpha1.ModelVersion {
	return &lifecyclev1alpha1.ModelVersion{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ml", UID: types.UID(uid)}}
}

func TestJobName(t *testing.T) {
	a := version("churn-v1-2-3", "uid-1")
	if JobName(a) != JobName(version("churn-v1-2-3", "uid-1")) {
		t.Fatal("the same version must always name the same Job")
	}
	if JobName(a) == JobName(version("churn-v1-2-3", "uid-2")) {
		t.Fatal("a version registered again is a new model and needs a new evaluation")
	}
	long := JobName(version(strings.Repeat("a", 250), "uid"))
	if len(long) > 63 || !strings.Contains(long, "-eval-") {
		t.Fatalf("JobName = %q (%d characters); want at most 63, naming the evaluation", long, len(long))
	}
}

func TestNeeded(t *testing.T) {
	spec := &lifecyclev1alpha1.EvaluationSpec{}
	ev := func(p lifecyclev1alpha1.EvaluationPhase) *lifecyclev1alpha1.EvaluationStatus {
		return &lifecyclev1alpha1.EvaluationStatus{Phase: p}
	}
	tests := []struct {
		name  string
		spec  *lifecyclev1alpha1.EvaluationSpec
		stage lifecyclev1alpha1.Stage
		ev    *lifecyclev1alpha1.EvaluationStatus
		want  bool
	}{
		{"no evaluation declared", nil, lifecyclev1alpha1.StageCandidate, nil, false},
		{"a new version", spec, "", nil, true},
		{"a candidate not evaluated", spec, lifecyclev1alpha1.StageCandidate, nil, true},
		{"production, when the product starts evaluating", spec, lifecyclev1alpha1.StageProduction, nil, true},
		{"running is followed", spec, lifecyclev1alpha1.StageCandidate, ev(lifecyclev1alpha1.EvaluationRunning), true},
		{"succeeded is done", spec, lifecyclev1alpha1.StageCandidate, ev(lifecyclev1alpha1.EvaluationSucceeded), false},
		{"failed is done", spec, lifecyclev1alpha1.StageCandidate, ev(lifecyclev1alpha1.EvaluationFailed), false},
		{"archived versions are not evaluated", spec, lifecyclev1alpha1.StageArchived, nil, false},
		{"a rejected version's running evaluation is still followed", spec, lifecyclev1alpha1.StageRejected, ev(lifecyclev1alpha1.EvaluationRunning), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mv := version("v", "u")
			mv.Status.Stage, mv.Status.Evaluation = tt.stage, tt.ev
			if got := Needed(tt.spec, mv); got != tt.want {
				t.Fatalf("Needed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestObserve(t *testing.T) {
	mv := version("churn-v2", "uid-2")
	now := metav1.NewTime(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	created := metav1.NewTime(now.Add(-time.Minute))
	owned := func(conds ...batchv1.JobCondition) *batchv1.Job {
		return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: JobName(mv), Namespace: "ml", UID: "job-uid", CreationTimestamp: created,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "lifecycle.aipm.io/v1alpha1", Kind: "ModelVersion", Name: mv.Name,
				UID: mv.UID, Controller: ptr.To(true)}}},
			Status: batchv1.JobStatus{Conditions: conds}}
	}
	complete := batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}
	pod := func(job *batchv1.Job, msg string) []corev1.Pod {
		return []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "p", OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1",
			Kind: "Job", Name: job.Name, UID: job.UID, Controller: ptr.To(true)}}},
			Status: corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{Name: "evaluator",
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Message: msg}}}}}}}
	}
	stranger := owned(complete)
	stranger.OwnerReferences = nil
	good := owned(complete)
	tests := []struct {
		name    string
		job     *batchv1.Job
		pods    []corev1.Pod
		phase   lifecyclev1alpha1.EvaluationPhase
		reason  string
		message string
		metrics int
	}{
		{"no Job yet", nil, nil, lifecyclev1alpha1.EvaluationRunning, "", "", 0},
		{"running", owned(), nil, lifecyclev1alpha1.EvaluationRunning, "", "", 0},
		{"someone else's Job of the name", stranger, pod(stranger, `{"metrics":{"auc":1}}`), lifecyclev1alpha1.EvaluationFailed, ReasonJobTaken,
			"Job " + JobName(mv) + " already exists and is not controlled by this version", 0},
		{"timed out", owned(batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "DeadlineExceeded",
			Message: "Job was active longer than specified deadline"}), nil, lifecyclev1alpha1.EvaluationFailed, ReasonJobFailed,
			"evaluation Job " + JobName(mv) + " failed: DeadlineExceeded: Job was active longer than specified deadline", 0},
		{"failed without a word", owned(batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue}), nil,
			lifecyclev1alpha1.EvaluationFailed, ReasonJobFailed, "evaluation Job " + JobName(mv) + " failed: the Job controller gave no reason", 0},
		{"reported metrics and slices", good, pod(good, `{"metrics":{"auc":0.7},"slices":[{"metric":"recall","slice":{"group":"a"},"value":0.5}]}`),
			lifecyclev1alpha1.EvaluationSucceeded, "", "evaluation Job " + JobName(mv) + " reported 2 metrics", 2},
		{"reported nothing", good, nil, lifecyclev1alpha1.EvaluationFailed, ReasonResultUnusable,
			"the result of evaluation Job " + JobName(mv) + " (container evaluator) is unusable: the result container left no termination message", 0},
		{"reported no metrics", good, pod(good, `{}`), lifecyclev1alpha1.EvaluationFailed, ReasonResultUnusable,
			"the result of evaluation Job " + JobName(mv) + " (container evaluator) is unusable: the result reports no metrics", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := Observe(mv, tt.job, tt.pods, "evaluator", now)
			if st.Phase != tt.phase || st.Reason != tt.reason || st.Message != tt.message || len(st.Metrics) != tt.metrics {
				t.Fatalf("got %s/%s %q with %d metrics; want %s/%s %q with %d", st.Phase, st.Reason, st.Message, len(st.Metrics),
					tt.phase, tt.reason, tt.message, tt.metrics)
			}
			if tt.job != nil && !st.StartTime.Equal(&created) {
				t.Fatalf("startTime = %v, want the Job's creation %v", st.StartTime, created)
			}
			if (st.CompletionTime != nil) != (tt.phase != lifecyclev1alpha1.EvaluationRunning) {
				t.Fatalf("completionTime = %v for phase %s", st.CompletionTime, st.Phase)
			}
		})
	}
}

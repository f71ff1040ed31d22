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
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/backend"
	"github.com/aipm-io/aipm-operator/internal/retrain"
)

var t0 = metav1.NewTime(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC))

func testRun() *lifecyclev1alpha1.RetrainingRun {
	return &lifecyclev1alpha1.RetrainingRun{
		TypeMeta:   metav1.TypeMeta{APIVersion: lifecyclev1alpha1.GroupVersion.String(), Kind: "RetrainingRun"},
		ObjectMeta: metav1.ObjectMeta{Name: "churn-manual-abc", Namespace: "ml", UID: "run-uid", Generation: 1},
		Spec: lifecyclev1alpha1.RetrainingRunSpec{
			Product:         "churn",
			Trigger:         lifecyclev1alpha1.RunTrigger{Kind: lifecyclev1alpha1.TriggerManual, Key: "ticket-1"},
			TargetVersion:   "1.0.1",
			ParentVersion:   "churn-v1-0-0",
			ResultContainer: "train",
			Template: &batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "train", Image: "train:1"}},
			}}}},
		},
	}
}

func ownedJob(run *lifecyclev1alpha1.RetrainingRun, conds ...batchv1.JobCondition) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: run.Name, Namespace: run.Namespace, UID: "job-uid", CreationTimestamp: t0,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: lifecyclev1alpha1.GroupVersion.String(), Kind: "RetrainingRun",
				Name: run.Name, UID: run.UID, Controller: ptr.To(true)}}},
		Status: batchv1.JobStatus{Conditions: conds},
	}
}

func cond(typ batchv1.JobConditionType, status corev1.ConditionStatus, reason, msg string) batchv1.JobCondition {
	return batchv1.JobCondition{Type: typ, Status: status, Reason: reason, Message: msg, LastTransitionTime: t0}
}

// decideJob decides for a run trained in a Job, as the reconciler does:
// the Job engine, and RunJob to render a Job when there is none.
func decideJob(run *lifecyclev1alpha1.RetrainingRun, job *batchv1.Job, pol retrain.Policy) decision {
	eng, _ := backend.For(lifecyclev1alpha1.BackendJob)
	var obj client.Object
	if job != nil {
		obj = job
	}
	return decide(run, eng, obj, func() (client.Object, error) { return retrain.RunJob(run, pol) })
}

func TestDecide(t *testing.T) {
	withWorkload := func(r *lifecyclev1alpha1.RetrainingRun) {
		r.Status.Phase = lifecyclev1alpha1.RunRunning
		r.Status.Workload = &lifecyclev1alpha1.WorkloadRef{Kind: "Job", Name: r.Name}
	}
	tests := []struct {
		name     string
		edit     func(*lifecyclev1alpha1.RetrainingRun)
		job      func(*lifecyclev1alpha1.RetrainingRun) *batchv1.Job
		policy   retrain.Policy
		want     step
		reason   string
		contains string
	}{
		{name: "a new run creates its Job", want: stepCreate},
		{name: "a privileged template is refused",
			edit: func(r *lifecyclev1alpha1.RetrainingRun) {
				r.Spec.Template.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
			},
			want: stepFail, reason: lifecyclev1alpha1.ReasonTemplateRefused, contains: "privileged"},
		{name: "a ServiceAccount outside the policy is refused",
			edit: func(r *lifecyclev1alpha1.RetrainingRun) {
				r.Spec.Template.Spec.Template.Spec.ServiceAccountName = "admin"
			},
			want: stepFail, reason: lifecyclev1alpha1.ReasonTemplateRefused, contains: `serviceAccountName "admin"`},
		{name: "a ServiceAccount the policy allows",
			edit: func(r *lifecyclev1alpha1.RetrainingRun) {
				r.Spec.Template.Spec.Template.Spec.ServiceAccountName = "trainer"
			},
			policy: retrain.Policy{ServiceAccounts: []string{"trainer"}}, want: stepCreate},
		{name: "a recorded Job that is gone",
			edit: withWorkload,
			want: stepFail, reason: lifecyclev1alpha1.ReasonWorkloadDeleted, contains: "deleted before it finished"},
		{name: "a Job of the name that another controls",
			job: func(r *lifecyclev1alpha1.RetrainingRun) *batchv1.Job {
				j := ownedJob(r)
				j.OwnerReferences[0].UID = "someone-else"
				return j
			},
			want: stepFail, reason: lifecyclev1alpha1.ReasonWorkloadRefused, contains: "not controlled by this run"},
		{name: "a recorded Job replaced by another's",
			edit: withWorkload,
			job: func(r *lifecyclev1alpha1.RetrainingRun) *batchv1.Job {
				j := ownedJob(r)
				j.OwnerReferences = nil
				return j
			},
			want: stepFail, reason: lifecyclev1alpha1.ReasonWorkloadDeleted, contains: "took its place"},
		{name: "its own Job, not yet recorded, is followed",
			job:  func(r *lifecyclev1alpha1.RetrainingRun) *batchv1.Job { return ownedJob(r) },
			want: stepFollow},
		{name: "a running Job", edit: withWorkload,
			job: func(r *lifecyclev1alpha1.RetrainingRun) *batchv1.Job {
				return ownedJob(r, cond(batchv1.JobFailureTarget, corev1.ConditionFalse, "", ""))
			},
			want: stepFollow},
		{name: "a Job meeting its success criteria is not complete yet", edit: withWorkload,
			job: func(r *lifecyclev1alpha1.RetrainingRun) *batchv1.Job {
				return ownedJob(r, cond(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, "CompletionsReached", ""))
			},
			want: stepFollow},
		{name: "a failed Job", edit: withWorkload,
			job: func(r *lifecyclev1alpha1.RetrainingRun) *batchv1.Job {
				return ownedJob(r, cond(batchv1.JobFailed, corev1.ConditionTrue, "BackoffLimitExceeded", "Job has reached the specified backoff limit"))
			},
			want: stepFail, reason: lifecyclev1alpha1.ReasonWorkloadFailed,
			contains: "failed: BackoffLimitExceeded: Job has reached the specified backoff limit"},
		{name: "a complete Job", edit: withWorkload,
			job: func(r *lifecyclev1alpha1.RetrainingRun) *batchv1.Job {
				return ownedJob(r, cond(batchv1.JobComplete, corev1.ConditionTrue, "", ""))
			},
			want: stepCollect},
		{name: "a finished run does nothing",
			edit: func(r *lifecyclev1alpha1.RetrainingRun) { r.Status.Phase = lifecyclev1alpha1.RunFailed },
			want: stepNone},
		{name: "a run going away does nothing",
			edit: func(r *lifecyclev1alpha1.RetrainingRun) { r.DeletionTimestamp = &t0 },
			want: stepNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := testRun()
			if tt.edit != nil {
				tt.edit(run)
			}
			var job *batchv1.Job
			if tt.job != nil {
				job = tt.job(run)
			}
			d := decideJob(run, job, tt.policy)
			if d.step != tt.want || d.reason != tt.reason || !strings.Contains(d.message, tt.contains) {
				t.Fatalf("decide = step %d, %s: %q; want step %d, %s: ...%q...", d.step, d.reason, d.message, tt.want, tt.reason, tt.contains)
			}
			if (d.step == stepCreate) != (d.workload != nil) {
				t.Errorf("step %d with workload %v", d.step, d.workload)
			}
			if d.step == stepCreate && (d.workload.GetName() != run.Name || d.workload.GetNamespace() != run.Namespace) {
				t.Errorf("creates Job %s/%s, want the run's name", d.workload.GetNamespace(), d.workload.GetName())
			}
		})
	}
}

// The failure of a Job is dated when the Job failed, not when the operator
// noticed.
func TestFailureDatedByTheJob(t *testing.T) {
	run := testRun()
	run.Status.Workload = &lifecyclev1alpha1.WorkloadRef{Kind: "Job", Name: run.Name}
	d := decideJob(run, ownedJob(run, cond(batchv1.JobFailed, corev1.ConditionTrue, "DeadlineExceeded", "")), retrain.Policy{})
	later := metav1.NewTime(t0.Add(time.Hour))
	markFailed(&run.Status, d, later)
	if !run.Status.CompletionTime.Equal(&t0) {
		t.Errorf("completionTime %v, want %v", run.Status.CompletionTime, t0)
	}
}

func TestTerminationMessage(t *testing.T) {
	run := testRun()
	job := ownedJob(run)
	pod := func(name string, created time.Duration, phase corev1.PodPhase, owned bool, container, msg string) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(t0.Add(created))},
			Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{Name: container,
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Message: msg}}}}}}
		if owned {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: ptr.To(true)}}
		}
		return p
	}
	tests := []struct {
		name string
		pods []corev1.Pod
		want string
	}{
		{"no pods", nil, ""},
		{"the succeeded pod", []corev1.Pod{pod("a", 0, corev1.PodSucceeded, true, "train", "ok")}, "ok"},
		{"not a failed attempt", []corev1.Pod{
			pod("a", 0, corev1.PodFailed, true, "train", "oom"),
			pod("b", time.Minute, corev1.PodSucceeded, true, "train", "ok"),
		}, "ok"},
		{"the newest success", []corev1.Pod{
			pod("a", 0, corev1.PodSucceeded, true, "train", "old"),
			pod("b", time.Minute, corev1.PodSucceeded, true, "train", "new"),
		}, "new"},
		{"only the result container", []corev1.Pod{pod("a", 0, corev1.PodSucceeded, true, "sidecar", "x")}, ""},
		{"not a pod the Job does not control", []corev1.Pod{pod("forged", time.Hour, corev1.PodSucceeded, false, "train", "forged")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retrain.TerminationMessage(job, "train", tt.pods); got != tt.want {
				t.Errorf("terminationMessage = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestModelVersion(t *testing.T) {
	run := testRun()
	job := ownedJob(run)
	parsed, err := retrain.ParseResult(`{"artifact": {"uri": "s3://models/churn/1.0.1", "format": "ONNX"},
		"metrics": {"zeta": 1, "auc": 0.93, "f1": 0.8}, "dataset": {"uri": "s3://data/2026-11", "digest": "snap-7"}}`)
	if err != nil {
		t.Fatal(err)
	}
	res := trainingResult(parsed)
	mv := modelVersion(run, job.Name, res)
	want := &lifecyclev1alpha1.ModelVersion{
		ObjectMeta: metav1.ObjectMeta{Name: "churn-v1-0-1", Namespace: "ml",
			Labels: map[string]string{lifecyclev1alpha1.LabelProduct: "churn"}},
		Spec: lifecyclev1alpha1.ModelVersionSpec{
			Product:  "churn",
			Version:  "1.0.1",
			Artifact: lifecyclev1alpha1.Artifact{URI: "s3://models/churn/1.0.1", Format: "ONNX"},
			Metrics: []lifecyclev1alpha1.EvaluationMetric{{Name: "auc", Value: "0.93"}, {Name: "f1", Value: "0.8"},
				{Name: "zeta", Value: "1"}},
			Lineage: &lifecyclev1alpha1.Lineage{Trigger: lifecyclev1alpha1.TriggerManual, TrainingJob: job.Name,
				ParentVersion: "churn-v1-0-0", Dataset: &lifecyclev1alpha1.Dataset{URI: "s3://data/2026-11", Digest: "snap-7"}},
		},
	}
	if diff := cmp.Diff(want, mv); diff != "" {
		t.Errorf("ModelVersion (-want +got):\n%s", diff)
	}
	if !producedBy(mv, job.Name) {
		t.Error("the version is not recognised as the Job's")
	}
	other := mv.DeepCopy()
	other.Spec.Lineage = nil
	if producedBy(other, job.Name) {
		t.Error("a version without lineage is taken as the Job's")
	}
}

func TestSucceededAtTheJobsCompletion(t *testing.T) {
	run := testRun()
	job := ownedJob(run)
	done := metav1.NewTime(t0.Add(10 * time.Minute))
	job.Status.CompletionTime = &done
	markRunning(&run.Status, "Job", job, metav1.NewTime(t0.Add(time.Second)))
	markSucceeded(&run.Status, "Job", job, job.Status.CompletionTime, "churn-v1-0-1", metav1.NewTime(t0.Add(time.Hour)))
	st := run.Status
	if !st.StartTime.Equal(&t0) || !st.CompletionTime.Equal(&done) {
		t.Errorf("start %v, completion %v; want the Job's %v and %v", st.StartTime, st.CompletionTime, t0, done)
	}
	if st.Workload == nil || st.Workload.Kind != "Job" || st.Workload.Name != job.Name || st.ModelVersion != "churn-v1-0-1" {
		t.Errorf("status %+v", st)
	}
}

// A Job whose recorded completion precedes its creation (clocks of two
// components, rounded to the second) never makes a negative duration.
func TestCompletionNeverBeforeStart(t *testing.T) {
	run := testRun()
	job := ownedJob(run)
	job.CreationTimestamp = metav1.NewTime(t0.Add(time.Minute))
	early := t0
	job.Status.CompletionTime = &early
	markRunning(&run.Status, "Job", job, metav1.NewTime(t0.Add(time.Minute)))
	markSucceeded(&run.Status, "Job", job, job.Status.CompletionTime, "churn-v1-0-1", metav1.NewTime(t0.Add(time.Hour)))
	if d := run.Status.CompletionTime.Sub(run.Status.StartTime.Time); d < 0 {
		t.Errorf("duration %v; completion %v before start %v", d, run.Status.CompletionTime, run.Status.StartTime)
	}
	markFailed(&run.Status, decision{reason: "X", at: &early}, metav1.NewTime(t0.Add(time.Hour)))
	if d := run.Status.CompletionTime.Sub(run.Status.StartTime.Time); d < 0 {
		t.Errorf("failed: duration %v", d)
	}
}

// The conditions follow the phase, as kstatus reads them: InProgress while
// the run runs, Current once it succeeded, Failed (Stalled) once it failed.
func TestSetConditions(t *testing.T) {
	type want struct {
		typ    string
		status metav1.ConditionStatus
		reason string
	}
	tests := []struct {
		name   string
		status lifecyclev1alpha1.RetrainingRunStatus
		want   []want
	}{
		{"new", lifecyclev1alpha1.RetrainingRunStatus{}, []want{
			{lifecyclev1alpha1.ConditionReady, metav1.ConditionFalse, lifecyclev1alpha1.ReasonRunPending},
			{lifecyclev1alpha1.ConditionReconciling, metav1.ConditionTrue, lifecyclev1alpha1.ReasonRunPending},
		}},
		{"running", lifecyclev1alpha1.RetrainingRunStatus{Phase: lifecyclev1alpha1.RunRunning, Reason: lifecyclev1alpha1.ReasonRunRunning}, []want{
			{lifecyclev1alpha1.ConditionReady, metav1.ConditionFalse, lifecyclev1alpha1.ReasonRunRunning},
			{lifecyclev1alpha1.ConditionReconciling, metav1.ConditionTrue, lifecyclev1alpha1.ReasonRunRunning},
		}},
		{"succeeded", lifecyclev1alpha1.RetrainingRunStatus{Phase: lifecyclev1alpha1.RunSucceeded, Reason: lifecyclev1alpha1.ReasonRegistered,
			Conditions: []metav1.Condition{{Type: lifecyclev1alpha1.ConditionReconciling, Status: metav1.ConditionTrue, Reason: "Running"}}}, []want{
			{lifecyclev1alpha1.ConditionReady, metav1.ConditionTrue, lifecyclev1alpha1.ReasonRegistered},
			{lifecyclev1alpha1.ConditionSucceeded, metav1.ConditionTrue, lifecyclev1alpha1.ReasonRegistered},
		}},
		{"failed", lifecyclev1alpha1.RetrainingRunStatus{Phase: lifecyclev1alpha1.RunFailed, Reason: lifecyclev1alpha1.ReasonWorkloadFailed,
			Conditions: []metav1.Condition{{Type: lifecyclev1alpha1.ConditionReconciling, Status: metav1.ConditionTrue, Reason: "Running"}}}, []want{
			{lifecyclev1alpha1.ConditionReady, metav1.ConditionFalse, lifecyclev1alpha1.ReasonWorkloadFailed},
			{lifecyclev1alpha1.ConditionSucceeded, metav1.ConditionFalse, lifecyclev1alpha1.ReasonWorkloadFailed},
			{lifecyclev1alpha1.ConditionStalled, metav1.ConditionTrue, lifecyclev1alpha1.ReasonWorkloadFailed},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := testRun()
			run.Generation = 3
			run.Status = tt.status
			setConditions(run, t0)
			if run.Status.ObservedGeneration != 3 {
				t.Errorf("observedGeneration %d", run.Status.ObservedGeneration)
			}
			if len(run.Status.Conditions) != len(tt.want) {
				t.Errorf("conditions %+v, want %d", run.Status.Conditions, len(tt.want))
			}
			for _, w := range tt.want {
				c := meta.FindStatusCondition(run.Status.Conditions, w.typ)
				if c == nil || c.Status != w.status || c.Reason != w.reason || c.ObservedGeneration != 3 {
					t.Errorf("%s = %+v, want %s %s", w.typ, c, w.status, w.reason)
				}
			}
			// Setting them again from the same status changes nothing,
			// so a reconcile that decides nothing new writes nothing.
			again := run.DeepCopy()
			setConditions(again, metav1.NewTime(t0.Add(time.Hour)))
			if diff := cmp.Diff(run.Status, again.Status); diff != "" {
				t.Errorf("a second pass changed the status:\n%s", diff)
			}
		})
	}
}

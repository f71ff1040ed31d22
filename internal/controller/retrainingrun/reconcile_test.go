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
	"context"
	"errors"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/retrain"
	"github.com/aipm-io/aipm-operator/internal/statuswrite"
)

// These tests drive Reconcile against fake clients, for what envtest cannot
// stage on cue: a cache behind the API server, a lost status write, a Job
// the API server refuses.

func unitScheme(t *testing.T) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := lifecyclev1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

type writerFunc func(ctx context.Context, obj client.Object) error

func (f writerFunc) Update(ctx context.Context, obj client.Object) error { return f(ctx, obj) }

// fixture is a reconciler whose cache is c and whose API server is api;
// they hold the same objects unless a test says otherwise.
type fixture struct {
	r        *Reconciler
	c, api   client.Client
	recorder *events.FakeRecorder
}

func newFixture(t *testing.T, funcs *interceptor.Funcs, objs ...client.Object) *fixture {
	s := unitScheme(t)
	b := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).WithStatusSubresource(&lifecyclev1alpha1.RetrainingRun{})
	if funcs != nil {
		b = b.WithInterceptorFuncs(*funcs)
	}
	c := b.Build()
	rec := events.NewFakeRecorder(16)
	return &fixture{c: c, api: c, recorder: rec, r: &Reconciler{
		Client: c, APIReader: c, Recorder: rec, Clock: clocktesting.NewFakePassiveClock(t0.Time),
		StatusWriter: statuswrite.Client{Client: c},
	}}
}

func (f *fixture) reconcile(t *testing.T, run *lifecyclev1alpha1.RetrainingRun) (ctrl.Result, error) {
	t.Helper()
	return f.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(run)})
}

func (f *fixture) run(t *testing.T, run *lifecyclev1alpha1.RetrainingRun) *lifecyclev1alpha1.RetrainingRun {
	t.Helper()
	got := &lifecyclev1alpha1.RetrainingRun{}
	if err := f.api.Get(context.Background(), client.ObjectKeyFromObject(run), got); err != nil {
		t.Fatal(err)
	}
	return got
}

func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func runningRun() *lifecyclev1alpha1.RetrainingRun {
	run := testRun()
	run.Status = lifecyclev1alpha1.RetrainingRunStatus{Phase: lifecyclev1alpha1.RunRunning, Reason: lifecyclev1alpha1.ReasonRunRunning,
		Workload: &lifecyclev1alpha1.WorkloadRef{Kind: "Job", Name: run.Name}, StartTime: &t0}
	return run
}

func resultPod(job *batchv1.Job, msg string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-x", Namespace: job.Namespace, Labels: map[string]string{retrain.JobNameLabel: job.Name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: ptr.To(true)}}},
		Status: corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{Name: "train",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Message: msg}}}}},
	}
}

// A status write refused by a conflict is retried soon and quietly, and
// the run's end is told once: by the reconcile whose write records it.
func TestConflictRetriedQuietlyAndToldOnce(t *testing.T) {
	run := runningRun()
	job := ownedJob(run, cond(batchv1.JobComplete, corev1.ConditionTrue, "", ""))
	f := newFixture(t, nil, run, job, resultPod(job, `{"artifact": {"uri": "s3://m/1.0.1"}}`))
	conflict := apierrors.NewConflict(schema.GroupResource{Group: "lifecycle.aipm.io", Resource: "retrainingruns"}, run.Name,
		errors.New("the object has been modified"))
	f.r.StatusWriter = writerFunc(func(context.Context, client.Object) error { return conflict })

	res, err := f.reconcile(t, run)
	if err != nil || res.RequeueAfter <= 0 {
		t.Fatalf("Reconcile = %+v, %v; want a quiet requeue", res, err)
	}
	if ev := f.events(); len(ev) != 0 {
		t.Fatalf("Events %q for a status that was not written", ev)
	}

	f.r.StatusWriter = statuswrite.Client{Client: f.c}
	if _, err := f.reconcile(t, run); err != nil {
		t.Fatal(err)
	}
	got := f.run(t, run)
	if got.Status.Phase != lifecyclev1alpha1.RunSucceeded || got.Status.ModelVersion != "churn-v1-0-1" {
		t.Fatalf("status %+v; want Succeeded with the version the first attempt registered", got.Status)
	}
	ev := f.events()
	if len(ev) != 1 || !strings.HasPrefix(ev[0], "Normal "+EventSucceeded) {
		t.Fatalf("Events %q; want one %s", ev, EventSucceeded)
	}

	if _, err := f.reconcile(t, run); err != nil {
		t.Fatal(err)
	}
	if ev := f.events(); len(ev) != 0 {
		t.Fatalf("Events %q after the run finished", ev)
	}
}

// A Job this run created whose status write was lost is followed, not
// created again, whether the cache shows it or only the API server does.
func TestAdoptsItsOwnJob(t *testing.T) {
	for _, cached := range []bool{true, false} {
		name := map[bool]string{true: "cached", false: "not cached yet"}[cached]
		t.Run(name, func(t *testing.T) {
			run := testRun()
			job := ownedJob(run)
			funcs := &interceptor.Funcs{}
			if !cached {
				funcs.Get = func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
					if _, ok := obj.(*batchv1.Job); ok {
						return apierrors.NewNotFound(schema.GroupResource{Group: "batch", Resource: "jobs"}, key.Name)
					}
					return c.Get(ctx, key, obj, opts...)
				}
			}
			f := newFixture(t, funcs, run, job)
			f.r.APIReader = fake.NewClientBuilder().WithScheme(unitScheme(t)).WithObjects(job).Build()
			if _, err := f.reconcile(t, run); err != nil {
				t.Fatal(err)
			}
			got := f.run(t, run)
			if got.Status.Phase != lifecyclev1alpha1.RunRunning || got.Status.Workload == nil || !got.Status.StartTime.Equal(&t0) {
				t.Errorf("status %+v; want Running with the Job's creation as its start", got.Status)
			}
			if ev := f.events(); len(ev) != 0 {
				t.Errorf("Events %q; the Job's creation was told when it was created", ev)
			}
		})
	}
}

// A Job created a moment ago that the cache has not seen yet is not taken
// for deleted.
func TestCacheLagIsNotDeletion(t *testing.T) {
	run := runningRun()
	job := ownedJob(run)
	f := newFixture(t, nil, run)
	f.r.APIReader = fake.NewClientBuilder().WithScheme(unitScheme(t)).WithObjects(job).Build()
	res, err := f.reconcile(t, run)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.run(t, run); got.Status.Phase != lifecyclev1alpha1.RunRunning {
		t.Errorf("phase %s; want Running", got.Status.Phase)
	}
	if res.RequeueAfter != uncachedPoll {
		t.Errorf("requeue %v; want a poll of the Job the cache does not show", res.RequeueAfter)
	}
}

func TestJobCreationRefusedOrFailing(t *testing.T) {
	gr := schema.GroupResource{Group: "batch", Resource: "jobs"}
	tests := []struct {
		name      string
		err       error
		wantPhase lifecyclev1alpha1.RunPhase
		reason    string
		wantErr   bool
	}{
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Group: "batch", Kind: "Job"}, "x",
			field.ErrorList{field.Invalid(field.NewPath("spec"), "x", "bad")}), lifecyclev1alpha1.RunFailed, lifecyclev1alpha1.ReasonWorkloadRefused, false},
		{"forbidden", apierrors.NewForbidden(gr, "x", errors.New("exceeded quota")), lifecyclev1alpha1.RunFailed,
			lifecyclev1alpha1.ReasonWorkloadRefused, false},
		{"unavailable", apierrors.NewServiceUnavailable("etcd is away"), lifecyclev1alpha1.RunPending,
			lifecyclev1alpha1.ReasonRunPending, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := testRun()
			f := newFixture(t, &interceptor.Funcs{Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
				if _, ok := obj.(*batchv1.Job); ok {
					return tt.err
				}
				return c.Create(ctx, obj, opts...)
			}}, run)
			_, err := f.reconcile(t, run)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Reconcile error %v; want an error: %v", err, tt.wantErr)
			}
			got := f.run(t, run)
			if got.Status.Phase != tt.wantPhase || got.Status.Reason != tt.reason {
				t.Errorf("status %s/%s (%s); want %s/%s", got.Status.Phase, got.Status.Reason, got.Status.Message, tt.wantPhase, tt.reason)
			}
			warned := false
			for _, e := range f.events() {
				warned = warned || strings.HasPrefix(e, "Warning "+EventFailed)
			}
			if warned != (tt.wantPhase == lifecyclev1alpha1.RunFailed) {
				t.Errorf("a %s Event: %v", EventFailed, warned)
			}
		})
	}
}

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
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/aipm-io/aipm-operator/internal/eventrecorder"
	"github.com/aipm-io/aipm-operator/internal/retrain"
	"github.com/aipm-io/aipm-operator/internal/serving"
	"github.com/aipm-io/aipm-operator/internal/statuswrite"
	"github.com/aipm-io/aipm-operator/internal/testenv"
)

// The suite runs a real manager with the RetrainingRun reconciler alone
// against an envtest API server, and asserts through a direct client, so
// every check reads what the API server holds. envtest runs no Job
// controller, kubelet or garbage collector: the specs play the first two.
var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	scheme    *runtime.Scheme

	stopManager func()
)

// policy is the operator's retraining policy in the suite: the namespace's
// default ServiceAccount and "trainer".
var policy = retrain.Policy{ServiceAccounts: []string{"default", "trainer"}}

func TestRetrainingRun(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "RetrainingRun Controller Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ctx, cancel = context.WithCancel(context.Background())

	var err error
	scheme, err = testenv.Scheme()
	Expect(err).NotTo(HaveOccurred())

	By("starting the control plane")
	// The engines' CRDs from their modules, but KubeRay's: a spec installs
	// those while the operator runs, as an administrator would.
	crds, err := testenv.EngineCRDs(false)
	Expect(err).NotTo(HaveOccurred())
	testEnv = testenv.Environment(crds...)
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), testenv.StartHint)

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	startManager()
})

// startManager runs a fresh manager with a fresh reconciler, as a restarted
// operator process would have: nothing in memory, everything from the API
// server.
func startManager() {
	owned := labels.SelectorFromSet(labels.Set{serving.LabelManagedBy: serving.ManagedBy})
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		// As in production (internal/controller.CacheOptions): the cache
		// sees only the Jobs the operator made.
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&batchv1.Job{}: {Label: owned},
		}},
		// Each restart registers the controller anew under the same name.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	recorder, err := eventrecorder.ForManager(mgr, "aipm-operator")
	Expect(err).NotTo(HaveOccurred())
	Expect((&Reconciler{
		Client:       mgr.GetClient(),
		Recorder:     recorder,
		StatusWriter: statuswrite.New(mgr.GetConfig(), mgr.GetHTTPClient(), mgr.GetScheme(), mgr.GetRESTMapper()),
		Policy:       policy,
		// A run waiting for its engine looks again soon, so that a spec
		// sees it start once the engine is there.
		UnavailablePoll: time.Second,
	}).SetupWithManager(mgr)).To(Succeed())

	mgrCtx, mgrCancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(mgrCtx)).To(Succeed())
	}()
	stopManager = func() {
		mgrCancel()
		<-done
	}
}

var _ = AfterSuite(func() {
	if stopManager != nil {
		stopManager()
	}
	cancel()
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

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

package experiment

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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
	"github.com/aipm-io/aipm-operator/internal/index"
	"github.com/aipm-io/aipm-operator/internal/prom"
	"github.com/aipm-io/aipm-operator/internal/prom/promtest"
	"github.com/aipm-io/aipm-operator/internal/serving"
	"github.com/aipm-io/aipm-operator/internal/statuswrite"
	"github.com/aipm-io/aipm-operator/internal/testenv"
)

// operatorName is the field manager the API server records for the
// operator's writes: the first word of its user agent.
const operatorName = "aipm-operator"

// The suite runs a real manager with this package's Reconciler alone
// against an envtest API server. No product reconciler runs: the specs
// write the product's status themselves, as the product would.
var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	fakeProm  *promtest.Server
	querier   prom.Querier
	scheme    *runtime.Scheme

	stopManager func()
)

func TestExperimentController(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Experiment Controller Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	// Intervals of 5s and durations of 10s, on a loaded machine.
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ctx, cancel = context.WithCancel(context.Background())

	var err error
	scheme, err = testenv.Scheme()
	Expect(err).NotTo(HaveOccurred())

	By("starting the control plane")
	testEnv = testenv.Environment()
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), testenv.StartHint)

	// The specs' own writes go under another name than the operator's, so
	// that managedFields tell the two apart.
	clientCfg := rest.CopyConfig(cfg)
	clientCfg.UserAgent = "experiment-suite/v0"
	k8sClient, err = client.New(clientCfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	fakeProm = promtest.NewServer()
	querier, err = prom.NewClient(fakeProm.URL, 5*time.Second)
	Expect(err).NotTo(HaveOccurred())

	startManager()
})

// startManager runs a fresh manager with a fresh Reconciler, as a
// restarted operator process would have: nothing in memory, everything
// from the API server.
func startManager() {
	mgrCfg := rest.CopyConfig(cfg)
	mgrCfg.UserAgent = operatorName + "/v0 (experiment suite)"
	owned := labels.SelectorFromSet(labels.Set{serving.LabelManagedBy: serving.ManagedBy})
	mgr, err := ctrl.NewManager(mgrCfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		// As the operator's cache holds them: only its own Deployments and
		// Services, and no pod template, which this controller must never
		// need to read back.
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&appsv1.Deployment{}: {Label: owned, Transform: func(in any) (any, error) {
				if d, ok := in.(*appsv1.Deployment); ok {
					d.Spec.Template = corev1.PodTemplateSpec{}
				}
				return in, nil
			}},
			&corev1.Service{}: {Label: owned},
		}},
		// Each restart registers the controller anew under the same name.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	// As cmd/main.go: the indexes every controller shares, once.
	Expect(index.Setup(ctx, mgr.GetFieldIndexer())).To(Succeed())
	recorder, err := eventrecorder.ForManager(mgr, operatorName)
	Expect(err).NotTo(HaveOccurred())
	Expect((&Reconciler{
		Client:       mgr.GetClient(),
		Recorder:     recorder,
		Prometheus:   querier,
		StatusWriter: statuswrite.New(mgr.GetConfig(), mgr.GetHTTPClient(), mgr.GetScheme(), mgr.GetRESTMapper()),
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
	if cancel != nil {
		cancel()
	}
	if fakeProm != nil {
		fakeProm.Close()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

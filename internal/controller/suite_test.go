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

package controller

import (
	"context"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	ctrlwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	experimentcontroller "github.com/aipm-io/aipm-operator/internal/controller/experiment"
	"github.com/aipm-io/aipm-operator/internal/controller/retrainingrun"
	"github.com/aipm-io/aipm-operator/internal/eventrecorder"
	"github.com/aipm-io/aipm-operator/internal/metrics"
	"github.com/aipm-io/aipm-operator/internal/prom"
	"github.com/aipm-io/aipm-operator/internal/prom/promtest"
	"github.com/aipm-io/aipm-operator/internal/statuswrite"
	"github.com/aipm-io/aipm-operator/internal/testenv"
	internalwebhook "github.com/aipm-io/aipm-operator/internal/webhook"
	// +kubebuilder:scaffold:imports
)

// The suite runs the real manager against an envtest API server and asserts
// through a direct client, so every check reads what the API server holds.
var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	fakeProm  *promtest.Server
	scheme    = runtime.NewScheme()
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	// Reconciles, Prometheus intervals of 5s and event batching all take a
	// few seconds on a loaded 2-core machine.
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ctx, cancel = context.WithCancel(context.Background())

	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(lifecyclev1alpha1.AddToScheme(scheme)).To(Succeed())
	Expect(gatewayv1.Install(scheme)).To(Succeed())
	// +kubebuilder:scaffold:scheme

	By("starting the control plane")
	// The Gateway API CRDs come from the module the operator builds with,
	// so the HTTPRoute the tests create is the real schema.
	gw, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	Expect(err).NotTo(HaveOccurred())
	// KServe's InferenceService CRD comes from its release's module, so
	// that what the KServe router writes meets the real schema.
	kserve, err := testenv.KServeCRD()
	Expect(err).NotTo(HaveOccurred())
	testEnv = testenv.Environment(
		filepath.Join(strings.TrimSpace(string(gw)), "config", "crd", "standard", "gateway.networking.k8s.io_httproutes.yaml"), kserve)
	testenv.ServeWebhooks(testEnv)
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), testenv.StartHint)
	// The validating webhook runs for the whole suite, apart from the
	// manager the specs restart: it fails closed, and a restart would
	// refuse the specs' own writes meanwhile.
	wo := testEnv.WebhookInstallOptions
	server := ctrlwebhook.NewServer(ctrlwebhook.Options{Host: wo.LocalServingHost, Port: wo.LocalServingPort, CertDir: wo.LocalServingCertDir})
	internalwebhook.Register(server, scheme)
	go func() { _ = server.Start(ctx) }()
	Eventually(func() error { return server.StartedChecker()(nil) }).Should(Succeed())

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	Expect(testenv.ApplyAdmissionPolicies(ctx, k8sClient)).To(Succeed())

	fakeProm = promtest.NewServer()
	querier, err := prom.NewClient(fakeProm.URL, 5*time.Second)
	Expect(err).NotTo(HaveOccurred())

	startManager(querier)
})

var (
	metricsAddr  string
	stopManager  func()
	querierInUse prom.Querier
)

// startManager runs a fresh manager with fresh reconcilers, as a restarted
// operator process would have: nothing in memory, everything from the API
// server.
func startManager(querier prom.Querier) {
	startManagerWith(querier, nil)
}

// startManagerWith is startManager with every request of the operator (not
// of the test's own client) going through wrap, so a spec can count them
// or answer some itself, as a troubled API server would.
func startManagerWith(querier prom.Querier, wrap func(http.RoundTripper) http.RoundTripper) {
	startManagerOpts(querier, wrap, true)
}

// startManagerOpts is startManagerWith, running the ModelVersion
// reconciler only when withVersions is set.
func startManagerOpts(querier prom.Querier, wrap func(http.RoundTripper) http.RoundTripper, withVersions bool) {
	querierInUse = querier
	mgrCfg := cfg
	if wrap != nil {
		mgrCfg = rest.CopyConfig(cfg)
		mgrCfg.Wrap(wrap)
	}
	// Metrics are served as in production: HTTPS, with authentication and
	// authorization through the API server.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	metricsAddr = l.Addr().String()
	Expect(l.Close()).To(Succeed())
	mgr, err := ctrl.NewManager(mgrCfg, ctrl.Options{
		Scheme: scheme,
		Metrics: metricsserver.Options{BindAddress: metricsAddr, SecureServing: true,
			FilterProvider: filters.WithAuthenticationAndAuthorization, ExtraHandlers: metrics.ExtraHandlers()},
		Cache: CacheOptions(watchNamespaces...),
		// Each restart registers the controllers anew under the same names.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(SetupIndexes(ctx, mgr)).To(Succeed())
	recorder, err := eventrecorder.ForManager(mgr, "aipm-operator")
	Expect(err).NotTo(HaveOccurred())
	// As cmd/main.go wires it: one status writer for every reconciler.
	statusWriter := statuswrite.New(mgr.GetConfig(), mgr.GetHTTPClient(), mgr.GetScheme(), mgr.GetRESTMapper())
	Expect((&AIProductReconciler{
		Client:       mgr.GetClient(),
		StatusWriter: statuswrite.As(statusWriter, "aipm-operator/aiproduct"),
		Recorder:     recorder,
		Prometheus:   querier,
	}).SetupWithManager(mgr)).To(Succeed())
	if withVersions {
		Expect((&ModelVersionReconciler{
			Client:       mgr.GetClient(),
			StatusWriter: statuswrite.As(statusWriter, "aipm-operator/modelversion"),
			Recorder:     recorder,
		}).SetupWithManager(mgr)).To(Succeed())
	}
	Expect((&experimentcontroller.Reconciler{
		Client:       mgr.GetClient(),
		StatusWriter: statuswrite.As(statusWriter, "aipm-operator/experiment"),
		Recorder:     recorder,
		Prometheus:   querier,
	}).SetupWithManager(mgr)).To(Succeed())
	Expect((&retrainingrun.Reconciler{
		Client:       mgr.GetClient(),
		StatusWriter: statuswrite.As(statusWriter, "aipm-operator/retrainingrun"),
		Recorder:     recorder,
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

// watchNamespaces are the namespaces the next manager started watches, as
// --watch-namespaces; empty: every namespace.
var watchNamespaces []string

// restartManager stops the running manager and starts a new one.
func restartManager() {
	stopManager()
	startManager(querierInUse)
}

var _ = AfterSuite(func() {
	if stopManager != nil {
		stopManager()
	}
	cancel()
	if fakeProm != nil {
		fakeProm.Close()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

/*
Copyright 2026.

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

package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	// Import all Kubernetes client auth plugins (e.g. Azure, GCP, OIDC, etc.)
	// to ensure that exec-entrypoint and run can make use of them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/backend"
	"github.com/aipm-io/aipm-operator/internal/certs"
	internalcontroller "github.com/aipm-io/aipm-operator/internal/controller"
	experimentcontroller "github.com/aipm-io/aipm-operator/internal/controller/experiment"
	"github.com/aipm-io/aipm-operator/internal/controller/retrainingrun"
	"github.com/aipm-io/aipm-operator/internal/eventrecorder"
	"github.com/aipm-io/aipm-operator/internal/memlimit"
	"github.com/aipm-io/aipm-operator/internal/metrics"
	"github.com/aipm-io/aipm-operator/internal/notification"
	"github.com/aipm-io/aipm-operator/internal/prom"
	"github.com/aipm-io/aipm-operator/internal/retrain"
	"github.com/aipm-io/aipm-operator/internal/statuswrite"
	internalwebhook "github.com/aipm-io/aipm-operator/internal/webhook"
	// +kubebuilder:scaffold:imports
)

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))

	utilruntime.Must(lifecyclev1alpha1.AddToScheme(scheme))
	utilruntime.Must(gatewayv1.Install(scheme))
	// The training engines' kinds; none needs its CRD installed (backend.For).
	backend.MustAddToScheme(scheme)
	// +kubebuilder:scaffold:scheme
}

func main() {
	var (
		metricsAddr, metricsCertPath, metricsCertName, metricsCertKey string
		probeAddr, leaderElectionNamespace, prometheusAddr            string
		pprofAddr                                                     string
		retrainingServiceAccounts, watchNamespaces                    string
		notificationsSecret, operatorNamespace                        string
		notificationsRefresh                                          time.Duration
		webhookPort                                                   int
		webhooks                                                      bool
		webhookCertDir, webhookSecret, webhookConfiguration           string
		webhookService                                                string
		enableLeaderElection, secureMetrics, enableHTTP2              bool
		kubeQPS                                                       float64
		kubeBurst, workers, versionWorkers                            int
		prometheusTimeout                                             time.Duration
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0", "The address the metrics endpoint binds to. "+
		"Use :8443 for HTTPS or :8080 for HTTP, or leave as 0 to disable the metrics service.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "The address the probe endpoint binds to.")
	flag.BoolVar(&enableLeaderElection, "leader-elect", true,
		"Elect a leader through a Lease, so that only one replica acts at a time.")
	flag.StringVar(&leaderElectionNamespace, "leader-election-namespace", "",
		"Namespace of the leader election Lease; defaults to the pod's namespace in a cluster.")
	flag.BoolVar(&secureMetrics, "metrics-secure", true,
		"Serve metrics over HTTPS with authentication and authorization. Use --metrics-secure=false for plain HTTP.")
	flag.StringVar(&metricsCertPath, "metrics-cert-path", "",
		"The directory that contains the metrics server certificate.")
	flag.StringVar(&metricsCertName, "metrics-cert-name", "tls.crt", "The name of the metrics server certificate file.")
	flag.StringVar(&metricsCertKey, "metrics-cert-key", "tls.key", "The name of the metrics server key file.")
	flag.BoolVar(&enableHTTP2, "enable-http2", false,
		"If set, HTTP/2 will be enabled for the metrics server")
	flag.StringVar(&prometheusAddr, "prometheus-address", "",
		"Base URL of the Prometheus HTTP API that objectives, analysis and drift queries go to, "+
			"such as http://prometheus-operated.monitoring:9090. Empty: every query reads Unknown.")
	flag.DurationVar(&prometheusTimeout, "prometheus-timeout", 10*time.Second, "Timeout of one Prometheus query.")
	var promAuth prom.Auth
	var promHeaders headerFlag
	flag.StringVar(&promAuth.CAFile, "prometheus-ca-file", "", "PEM file of the CA that signed Prometheus' serving certificate; the system's roots when empty.")
	flag.StringVar(&promAuth.CertFile, "prometheus-cert-file", "", "PEM file of a client certificate for Prometheus (mutual TLS), with --prometheus-key-file.")
	flag.StringVar(&promAuth.KeyFile, "prometheus-key-file", "", "PEM file of the client certificate's key.")
	flag.StringVar(&promAuth.ServerName, "prometheus-server-name", "", "Name Prometheus' certificate must carry, when it is not the address' host.")
	flag.StringVar(&promAuth.BearerTokenFile, "prometheus-bearer-token-file", "",
		"File holding a token sent as 'Authorization: Bearer'; read on use, so a rotated token is picked up.")
	flag.StringVar(&promAuth.BasicAuthUser, "prometheus-basic-auth-user", "", "User of HTTP basic authentication to Prometheus.")
	flag.StringVar(&promAuth.BasicAuthPasswordFile, "prometheus-basic-auth-password-file", "",
		"File holding the basic-authentication password; read on use.")
	flag.Var(&promHeaders, "prometheus-header",
		"A header sent with every Prometheus query, as 'Name: value' (for example 'X-Scope-OrgID: team-a'); repeat for more.")
	// client-go's default of 20 queries per second would take a fleet of
	// thousands of products tens of minutes to converge; see docs/benchmarks.
	flag.Float64Var(&kubeQPS, "kube-api-qps", 100, "Queries per second the operator may send to the API server.")
	flag.IntVar(&kubeBurst, "kube-api-burst", 200, "Burst of queries the operator may send to the API server.")
	// A product's reconcile spends most of its time waiting on the client's
	// rate limits, one per resource, so a fleet converges faster with more
	// of them waiting at once (make bench -workers).
	flag.IntVar(&workers, "workers", 32, "Concurrent reconciles of AIProducts.")
	// A version's reconcile is a verdict and one write, and its writes share
	// the client's version rate limit with the products' stage writes: more
	// of them held up the products, which serve a version and judge it in
	// the same write when they reach it first (docs/benchmarks.md).
	flag.IntVar(&versionWorkers, "version-workers", 4, "Concurrent reconciles of ModelVersions.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0",
		"The address Go's pprof endpoints bind to, such as 127.0.0.1:8082; 0 disables them. They are not authenticated.")
	// Whoever may create an AIProduct writes the retraining Job's pod, and
	// the operator creates it: without a list, any ServiceAccount of the
	// namespace, and its rights, would be theirs for the asking.
	flag.StringVar(&retrainingServiceAccounts, "retraining-service-accounts", retrain.DefaultServiceAccount,
		"Comma-separated names of the ServiceAccounts a retraining Job's pod may run as, in its product's namespace. "+
			"A template that names another is refused (condition RetrainingAllowed=False). Empty: only default.")
	flag.StringVar(&notificationsSecret, "notifications-secret", "aipm-operator-notifications",
		"Name of the Secret, in the operator's namespace, whose notifications.yaml declares the notification sinks "+
			"and the namespaces' default subscriptions (docs/notifications.md); the operator may read that Secret alone.")
	flag.DurationVar(&notificationsRefresh, "notifications-refresh", 30*time.Second,
		"How often the notification Secret is read again.")
	flag.StringVar(&operatorNamespace, "operator-namespace", "",
		"The operator's own namespace, where the notification Secret is; defaults to the pod's namespace in a cluster, "+
			"else aipm-operator-system.")
	flag.BoolVar(&webhooks, "webhooks", true,
		"Serve the validating webhook of AIProducts and ModelVersions (config/webhook). Turn it off only where no "+
			"ValidatingWebhookConfiguration points at this operator, as with make run.")
	flag.IntVar(&webhookPort, "webhook-port", 9443, "The port the validating webhook serves on.")
	flag.StringVar(&webhookCertDir, "webhook-cert-dir", "",
		"Directory of the webhook's tls.crt and tls.key, kept by someone else (cert-manager). Empty: the operator keeps "+
			"them itself in --webhook-secret and sets the caBundle of --webhook-configuration.")
	flag.StringVar(&webhookSecret, "webhook-secret", "aipm-operator-webhook-server-cert",
		"Secret, in the operator's namespace, where the operator keeps the webhook's CA and certificate.")
	flag.StringVar(&webhookConfiguration, "webhook-configuration", "aipm-operator-validating-webhook-configuration",
		"ValidatingWebhookConfiguration whose caBundle the operator sets.")
	flag.StringVar(&webhookService, "webhook-service", "aipm-operator-webhook-service",
		"Service in front of the webhook; its names are the certificate's.")
	flag.StringVar(&watchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces the operator watches and acts in; empty: every namespace. "+
			"With a list, its RBAC may be bound per namespace instead of cluster-wide.")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	setMemoryLimit()

	allowedServiceAccounts, err := serviceAccountList(retrainingServiceAccounts)
	if err != nil {
		setupLog.Error(err, "Invalid --retraining-service-accounts")
		os.Exit(1)
	}

	namespaces, err := namespaceList(watchNamespaces)
	if err != nil {
		setupLog.Error(err, "Invalid --watch-namespaces")
		os.Exit(1)
	}

	var tlsOpts []func(*tls.Config)
	// HTTP/2 stays off unless asked for: it exposes the server to the Stream
	// Cancellation and Rapid Reset attacks (CVE-2023-44487, CVE-2023-39325).
	if !enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}

	metricsServerOptions := metricsserver.Options{
		BindAddress:   metricsAddr,
		SecureServing: secureMetrics,
		TLSOpts:       tlsOpts,
		ExtraHandlers: metrics.ExtraHandlers(),
	}
	if secureMetrics {
		// Only callers allowed to GET /metrics by RBAC may scrape.
		metricsServerOptions.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	if len(metricsCertPath) > 0 {
		metricsServerOptions.CertDir = metricsCertPath
		metricsServerOptions.CertName = metricsCertName
		metricsServerOptions.KeyName = metricsCertKey
	}

	restCfg := ctrl.GetConfigOrDie()
	restCfg.QPS = float32(kubeQPS)
	restCfg.Burst = kubeBurst

	// The webhook's certificate must be on disk before its server starts:
	// kept here, unless someone else keeps it.
	certDir := webhookCertDir
	var rotator *certs.Rotator
	if webhooks && certDir == "" {
		ns := ownNamespace(operatorNamespace)
		certClient, err := client.New(restCfg, client.Options{Scheme: scheme})
		if err != nil {
			setupLog.Error(err, "Unable to create the webhook certificate client")
			os.Exit(1)
		}
		certDir = filepath.Join(os.TempDir(), "aipm-operator-webhook-certs")
		svc := webhookService + "." + ns + ".svc"
		rotator = &certs.Rotator{Client: certClient, Secret: types.NamespacedName{Namespace: ns, Name: webhookSecret},
			Webhook: webhookConfiguration, DNSNames: []string{svc, svc + ".cluster.local"}, CertDir: certDir}
		if err := rotator.Ensure(context.Background()); err != nil {
			setupLog.Error(err, "Unable to keep the webhook certificate")
			os.Exit(1)
		}
	}
	var webhookServer webhook.Server
	if webhooks {
		webhookServer = webhook.NewServer(webhook.Options{Port: webhookPort, CertDir: certDir, TLSOpts: tlsOpts})
	}

	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsServerOptions,
		WebhookServer:           webhookServer,
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          enableLeaderElection,
		LeaderElectionID:        "aipm-operator.lifecycle.aipm.io",
		LeaderElectionNamespace: leaderElectionNamespace,
		// The process exits as soon as the manager stops, so releasing the
		// Lease on the way out is safe and hands over without waiting for
		// it to expire.
		LeaderElectionReleaseOnCancel: true,
		Controller:                    controllerConfig(workers),
		Cache:                         internalcontroller.CacheOptions(namespaces...),
		PprofBindAddress:              pprofAddr,
	})
	if err != nil {
		setupLog.Error(err, "Unable to start manager")
		os.Exit(1)
	}

	promAuth.Headers = promHeaders
	querier, err := prom.NewClientWith(prometheusAddr, prometheusTimeout, promAuth)
	if err != nil {
		setupLog.Error(err, "Unable to create Prometheus client")
		os.Exit(1)
	}
	if prometheusAddr == "" {
		setupLog.Info("No --prometheus-address given; objectives will read Unknown")
	}

	if err := internalcontroller.SetupIndexes(context.Background(), mgr); err != nil {
		setupLog.Error(err, "Unable to set up cache indexes")
		os.Exit(1)
	}
	eventRecorder, err := eventrecorder.ForManager(mgr, "aipm-operator")
	if err != nil {
		setupLog.Error(err, "Unable to create the event recorder")
		os.Exit(1)
	}
	if webhooks {
		internalwebhook.Register(mgr.GetWebhookServer(), mgr.GetScheme())
		if rotator != nil {
			if err := mgr.Add(rotator); err != nil {
				setupLog.Error(err, "Unable to add the webhook certificate keeper")
				os.Exit(1)
			}
		}
	}
	// Whatever the operator tells in an Event, a subscriber hears too.
	dispatcher := &notification.Dispatcher{Reader: mgr.GetClient(), SecretReader: mgr.GetAPIReader(),
		Secret:  types.NamespacedName{Namespace: ownNamespace(operatorNamespace), Name: notificationsSecret},
		Refresh: notificationsRefresh}
	if err := mgr.Add(dispatcher); err != nil {
		setupLog.Error(err, "Unable to add the notification dispatcher")
		os.Exit(1)
	}
	recorder := notification.Recorder{EventRecorder: eventRecorder, Dispatcher: dispatcher}
	// One status writer for every reconciler: its token buckets are per
	// kind, as in controller-runtime's client.
	statusWriter := statuswrite.New(mgr.GetConfig(), mgr.GetHTTPClient(), mgr.GetScheme(), mgr.GetRESTMapper())
	if err := (&internalcontroller.AIProductReconciler{
		Client:       mgr.GetClient(),
		StatusWriter: statuswrite.As(statusWriter, "aipm-operator/aiproduct"),
		Recorder:     recorder,
		Prometheus:   querier,

		RetrainingServiceAccounts: allowedServiceAccounts,
	}).SetupWithManager(mgr); err != nil {
		setupLog.Error(err, "Unable to create controller", "controller", "AIProduct")
		os.Exit(1)
	}
	if err := (&internalcontroller.ModelVersionReconciler{
		Client:       mgr.GetClient(),
		StatusWriter: statuswrite.As(statusWriter, "aipm-operator/modelversion"),
		Recorder:     recorder,
		Workers:      versionWorkers,
		Policy:       retrain.Policy{ServiceAccounts: allowedServiceAccounts},
	}).SetupWithManager(mgr); err != nil {
		setupLog.Error(err, "Unable to create controller", "controller", "ModelVersion")
		os.Exit(1)
	}
	if err := (&experimentcontroller.Reconciler{
		Client:       mgr.GetClient(),
		StatusWriter: statuswrite.As(statusWriter, "aipm-operator/experiment"),
		Recorder:     recorder,
		Prometheus:   querier,
	}).SetupWithManager(mgr); err != nil {
		setupLog.Error(err, "Unable to create controller", "controller", "Experiment")
		os.Exit(1)
	}
	if err := (&retrainingrun.Reconciler{
		Client:       mgr.GetClient(),
		StatusWriter: statuswrite.As(statusWriter, "aipm-operator/retrainingrun"),
		Recorder:     recorder,
		Policy:       retrain.Policy{ServiceAccounts: allowedServiceAccounts},
		Namespaces:   namespaces,
	}).SetupWithManager(mgr); err != nil {
		setupLog.Error(err, "Unable to create controller", "controller", "RetrainingRun")
		os.Exit(1)
	}
	// +kubebuilder:scaffold:builder

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		setupLog.Error(err, "Unable to set up health check")
		os.Exit(1)
	}
	readyz := healthz.Ping
	if webhooks {
		// Ready once the webhook answers: a replica that cannot is kept out
		// of the webhook Service.
		readyz = mgr.GetWebhookServer().StartedChecker()
	}
	if err := mgr.AddReadyzCheck("readyz", readyz); err != nil {
		setupLog.Error(err, "Unable to set up ready check")
		os.Exit(1)
	}

	setupLog.Info("Starting manager", "prometheus", prometheusAddr, "qps", kubeQPS, "burst", kubeBurst, "workers", workers, "versionWorkers", versionWorkers,
		"retrainingServiceAccounts", allowedServiceAccounts)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		setupLog.Error(err, "Manager stopped with an error")
		os.Exit(1)
	}
}

// serviceAccountList reads --retraining-service-accounts. A name that no
// ServiceAccount can have is a typo, and a typo in an allow-list fails
// closed at startup rather than silently allowing nothing.
func serviceAccountList(flagValue string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(flagValue, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			return nil, fmt.Errorf("%q is not a ServiceAccount name: %s", name, strings.Join(errs, "; "))
		}
		out = append(out, name)
	}
	if len(out) == 0 {
		out = []string{retrain.DefaultServiceAccount}
	}
	return out, nil
}

// namespaceList reads --watch-namespaces; a name no namespace can have
// fails at startup rather than watching nothing.
func namespaceList(flagValue string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(flagValue, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			return nil, fmt.Errorf("%q is not a namespace name: %s", name, strings.Join(errs, "; "))
		}
		out = append(out, name)
	}
	return out, nil
}

func controllerConfig(workers int) config.Controller {
	return config.Controller{MaxConcurrentReconciles: workers}
}

// setMemoryLimit gives the Go runtime a soft limit under the memory limit
// of the operator's cgroup, unless GOMEMLIMIT already sets one; without a
// container limit, one that follows the live heap (memlimit.FollowLive),
// so that an operator run outside a memory-limited pod is as lean.
func setMemoryLimit() {
	soft, err := memlimit.Set(slog.New(logr.ToSlogHandler(setupLog)))
	switch {
	case err != nil:
		setupLog.Error(err, "Unable to read the container's memory limit; no soft memory limit set")
	case soft > 0:
		setupLog.Info("Soft memory limit set", "softBytes", soft)
	case os.Getenv("GOMEMLIMIT") == "" && os.Getenv("AUTOMEMLIMIT") != "off":
		setupLog.Info("No container memory limit; the soft memory limit follows the live heap",
			"ratio", memlimit.LiveRatio, "headroomBytes", memlimit.LiveHeadroom)
		go memlimit.FollowLive(context.Background())
	}
}

// headerFlag collects repeated "Name: value" flags.
type headerFlag map[string]string

func (h *headerFlag) String() string { return fmt.Sprint(map[string]string(*h)) }

func (h *headerFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" {
		return fmt.Errorf("%q is not a header: want 'Name: value'", v)
	}
	if *h == nil {
		*h = headerFlag{}
	}
	(*h)[name] = value
	return nil
}

// ownNamespace is the operator's namespace: the flag's, the pod's, or
// aipm-operator-system.
func ownNamespace(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil && len(b) > 0 {
		return strings.TrimSpace(string(b))
	}
	return "aipm-operator-system"
}

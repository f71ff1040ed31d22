# Image URL to use all building/pushing image targets
IMG ?= controller:latest

# CONTAINER_TOOL defines the container tool to be used for building images.
CONTAINER_TOOL ?= docker

# Setting SHELL to bash allows bash commands to be executed by recipes.
# Options are set to exit when a recipe line exits non-zero or a piped command fails.
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

# The embedded pod and Job templates carry upstream descriptions that would
# push the AIProduct CRD past etcd's request limit; crdtrim drops those only.
TRIMMED_TEMPLATES = spec.delivery.serving.template spec.delivery.retraining.template spec.delivery.evaluation.template

.PHONY: manifests
manifests: controller-gen ## Generate ClusterRole and CustomResourceDefinition objects.
	"$(CONTROLLER_GEN)" rbac:roleName=manager-role crd:generateEmbeddedObjectMeta=true webhook paths="./api/...;./internal/...;./cmd/..." output:crd:artifacts:config=config/crd/bases
	go run ./hack/crdtrim config/crd/bases/lifecycle.aipm.io_aiproducts.yaml $(TRIMMED_TEMPLATES)
	hack/sync-chart.sh

.PHONY: generate
generate: controller-gen ## Generate code containing DeepCopy, DeepCopyInto, and DeepCopyObject method implementations.
	"$(CONTROLLER_GEN)" object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run go fmt against code.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet against code.
	go vet ./...

.PHONY: control-plane
control-plane: ## Build kube-apiserver, etcd and kubectl into bin/ from the Go module proxy (cached).
	@hack/build-control-plane.sh kube-apiserver etcd kubectl >/dev/null

.PHONY: test
test: test-unit test-e2e ## Run every test: unit, envtest, alert rules, and end to end on a kwokctl cluster.

.PHONY: test-unit
test-unit: manifests generate fmt vet lint control-plane kustomize helm test-alerts test-fuzz test-argocd ## Run unit and envtest tests, after lint and the fuzz targets (builds the control plane on first use).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test $$(go list ./... | grep -v -e /test/e2e -e /test/node) -coverprofile cover.out

# Every func FuzzX(f *testing.F) in the module, found by hack/fuzz.sh, runs
# for FUZZTIME; a failing input stays in <package>/testdata/fuzz/FuzzX/ and
# plain go test replays it from then on.
FUZZTIME ?= 10s

.PHONY: test-fuzz
test-fuzz: ## Run every Go fuzz target for FUZZTIME each (default 10s); FUZZ=<regexp> selects targets.
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh

.PHONY: test-argocd
test-argocd: ## Run the Argo CD health checks and actions (config/argocd) through Argo CD's own code, in the test/argocd module (Go 1.27, fetched from the module proxy).
	cd test/argocd && GOTOOLCHAIN=go1.27.3 go test -count=1 ./...

.PHONY: test-alerts
test-alerts: ## Check and unit-test the alerting rules with promtool
	bash hack/check-alerts.sh

.PHONY: lint
lint: golangci-lint ## Run gofmt, go vet and golangci-lint (.golangci.yml), failing on any finding.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	go vet ./...
	"$(GOLANGCI_LINT)" run ./...

##@ Build

.PHONY: build
build: manifests generate fmt vet kubectl-aipm ## Build manager binary and the kubectl plugin.
	go build -o bin/manager cmd/main.go

.PHONY: kubectl-aipm
kubectl-aipm: ## Build the kubectl plugin into bin/kubectl-aipm (with bin/ on PATH: kubectl aipm).
	go build -o bin/kubectl-aipm ./cmd/kubectl-aipm

.PHONY: kubectl-aipm-krew
kubectl-aipm-krew: kubectl-aipm ## Package the plugin for krew: bin/krew/ holds the archive and its manifest (docs/kubectl-plugin.md).
	hack/krew-package.sh

# With no KUBECONFIG, `make run` starts the local kwokctl cluster (built
# from bin/), installs the CRDs, applies config/samples and runs the
# operator against it. With KUBECONFIG, it runs the operator against that
# cluster, as kubebuilder's `make run` does.
.PHONY: run
run: manifests generate fmt vet ## Run the operator; on a local kwokctl cluster when no KUBECONFIG is given.
	@hack/run-local.sh

.PHONY: docker-build
docker-build: ## Build docker image with the manager.
	$(CONTAINER_TOOL) build -t ${IMG} .

.PHONY: docker-push
docker-push: ## Push docker image with the manager.
	$(CONTAINER_TOOL) push ${IMG}

.PHONY: images
images: ## Build the operator, model-server, trainer, evaluator and simulator images without Docker (hack/imagebuild) into bin/images; import them into the real node when it runs.
	@hack/images.sh

.PHONY: build-installer
build-installer: manifests generate kustomize ## Generate a consolidated YAML with CRDs and deployment.
	mkdir -p dist
	@$(MAKE) --no-print-directory deploy-kustomization
	"$(KUSTOMIZE)" build bin/deploy > dist/install.yaml

##@ Deployment

ifndef ignore-not-found
  ignore-not-found = false
endif

# Server-side apply: CRDs are large, and SSA keeps field ownership honest.
.PHONY: install
install: manifests kustomize control-plane ## Install CRDs and the admission policies of their kinds into the K8s cluster specified in ~/.kube/config.
	"$(KUSTOMIZE)" build config/crd | "$(KUBECTL)" apply --server-side -f -
	"$(KUSTOMIZE)" build config/admission | "$(KUBECTL)" apply --server-side -f -

.PHONY: uninstall
uninstall: manifests kustomize control-plane ## Uninstall CRDs and their admission policies from the K8s cluster specified in ~/.kube/config.
	"$(KUSTOMIZE)" build config/admission | "$(KUBECTL)" delete --ignore-not-found=$(ignore-not-found) -f -
	"$(KUSTOMIZE)" build config/crd | "$(KUBECTL)" delete --ignore-not-found=$(ignore-not-found) -f -

# The kustomization deployed: config/default, or an overlay of it.
DEPLOY_CONFIG ?= config/default

# The image is pinned in a kustomization of its own under bin/deploy, over
# DEPLOY_CONFIG, so that deploying never edits a committed file.
.PHONY: deploy-kustomization
deploy-kustomization: kustomize
	@rm -rf bin/deploy && mkdir -p bin/deploy
	@printf 'resources:\n- %s\n' "$$(realpath --relative-to=bin/deploy $(DEPLOY_CONFIG))" > bin/deploy/kustomization.yaml
	@cd bin/deploy && "$(KUSTOMIZE)" edit set image controller=${IMG}

.PHONY: deploy
deploy: manifests kustomize control-plane ## Deploy controller to the K8s cluster specified in ~/.kube/config (DEPLOY_CONFIG, default config/default; IMG).
	@$(MAKE) --no-print-directory deploy-kustomization
	"$(KUSTOMIZE)" build bin/deploy | "$(KUBECTL)" apply --server-side -f -
	"$(KUSTOMIZE)" build config/admission | "$(KUBECTL)" apply --server-side -f -

.PHONY: undeploy
undeploy: kustomize control-plane ## Undeploy controller from the K8s cluster specified in ~/.kube/config.
	@$(MAKE) --no-print-directory deploy-kustomization
	"$(KUSTOMIZE)" build config/admission | "$(KUBECTL)" delete --ignore-not-found=$(ignore-not-found) -f -
	"$(KUSTOMIZE)" build bin/deploy | "$(KUBECTL)" delete --ignore-not-found=$(ignore-not-found) -f -

##@ Dependencies

## Location to install dependencies to
LOCALBIN ?= $(shell pwd)/bin
$(LOCALBIN):
	mkdir -p "$(LOCALBIN)"

## Control-plane versions, built by hack/build-control-plane.sh
KUBE_VERSION ?= v1.37.2
ENVTEST_ASSETS ?= $(LOCALBIN)/k8s/$(KUBE_VERSION)

## Tool Binaries
KUBECTL ?= $(ENVTEST_ASSETS)/kubectl
KUSTOMIZE ?= $(LOCALBIN)/kustomize
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint
HELM ?= $(LOCALBIN)/helm

## Tool Versions
KUSTOMIZE_VERSION ?= v5.7.1
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
HELM_VERSION ?= v4.3.2

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Build kustomize locally if necessary.
$(KUSTOMIZE): $(LOCALBIN)
	@hack/go-install-tool.sh "$(KUSTOMIZE)" sigs.k8s.io/kustomize/kustomize/v5 sigs.k8s.io/kustomize/kustomize/v5 $(KUSTOMIZE_VERSION)

.PHONY: helm
helm: $(HELM) ## Build helm locally if necessary.
$(HELM): $(LOCALBIN)
	@hack/go-install-tool.sh "$(HELM)" helm.sh/helm/v4/cmd/helm helm.sh/helm/v4 $(HELM_VERSION)

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Build controller-gen locally if necessary.
$(CONTROLLER_GEN): $(LOCALBIN)
	@hack/go-install-tool.sh "$(CONTROLLER_GEN)" sigs.k8s.io/controller-tools/cmd/controller-gen sigs.k8s.io/controller-tools $(CONTROLLER_TOOLS_VERSION)

# Built with the local Go (golangci-lint must be built by a Go at least as
# new as the code it checks), so no prebuilt release binary is used.
.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Build golangci-lint locally if necessary.
$(GOLANGCI_LINT): $(LOCALBIN)
	@hack/go-install-tool.sh "$(GOLANGCI_LINT)" github.com/golangci/golangci-lint/v2/cmd/golangci-lint github.com/golangci/golangci-lint/v2 $(GOLANGCI_LINT_VERSION)

##@ End-to-end on kind (needs Docker and kind; not run by CI here)

KIND_BIN ?= kind
KIND_CLUSTER ?= aipm-operator-test-e2e

.PHONY: test-e2e-kind
test-e2e-kind: manifests generate fmt vet ## Run the test/e2e scenarios on kind: build and load the images, make deploy, Prometheus in the cluster.
	@command -v $(KIND_BIN) >/dev/null || { echo "kind is not installed"; exit 1; }
	$(KIND_BIN) get clusters | grep -qx "$(KIND_CLUSTER)" || $(KIND_BIN) create cluster --name "$(KIND_CLUSTER)"
	E2E_PLATFORM=kind KIND=$(KIND_BIN) KIND_CLUSTER=$(KIND_CLUSTER) CONTAINER_TOOL=$(CONTAINER_TOOL) \
		go test -tags e2e ./test/e2e/ -v -ginkgo.v -timeout 45m; \
		status=$$?; $(KIND_BIN) delete cluster --name "$(KIND_CLUSTER)"; exit $$status

##@ End-to-end on a local kwokctl cluster (fake nodes, and a real node as root)

.PHONY: cluster-up
cluster-up: ## Start (or reuse) the local kwokctl cluster with the CRDs installed, and its real node where this runs as root; prints its kubeconfig.
	@hack/cluster.sh up

.PHONY: cluster-down
cluster-down: ## Delete the local kwokctl cluster, and its real node if one runs.
	@hack/cluster.sh down

.PHONY: node-up
node-up: ## Start the local cluster and its real node, failing without it (kubelet, containerd, runc; needs root); prints the kubeconfig.
	@hack/node.sh up

.PHONY: node-down
node-down: ## Stop the real node; the cluster stays.
	@hack/node.sh down

.PHONY: test-node
test-node: ## Prove the real node: a pod built here runs on it and answers HTTP through a Service (needs root).
	go test -tags node ./test/node/ -v -count=1 -timeout 15m

# What the e2e suite builds from the module proxy, built before its timeout
# starts: on a machine with a cold Go cache traefik alone takes minutes.
.PHONY: e2e-tools
e2e-tools: ## Build the binaries the e2e suite runs (control plane, real node, traefik, KServe, JobSet, Trainer, the Model Registry); each is built once.
	@hack/build-control-plane.sh etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwokctl kubelet kube-proxy traefik kserve-controller >/dev/null
	@hack/build-engines.sh jobset trainer >/dev/null
	@hack/model-registry.sh build >/dev/null

# KIND=1 runs the same scenarios on kind instead; it needs Docker and kind.
.PHONY: test-e2e
test-e2e: manifests generate helm e2e-tools ## Run test/e2e (scenarios and reliability) on a kwokctl cluster with a real Prometheus: the operator as a process, then as a pod on the real node.
ifeq ($(KIND),1)
	$(MAKE) test-e2e-kind
else
	go test -tags e2e ./test/e2e/ -v -ginkgo.v -timeout 45m
endif

.PHONY: test-chaos
test-chaos: manifests generate ## Run only the reliability scenarios (SIGKILL chaos, leader election, Prometheus outage); make test-e2e runs them too.
	go test -tags e2e ./test/e2e/ -v -ginkgo.v -ginkgo.label-filter=reliability -timeout 40m

##@ Benchmarks

.PHONY: bench-micro
bench-micro: control-plane ## Micro-benchmarks of the hot functions (step machine, drift, gates, rendering, metrics scrape, fleet queries, cache sharing, apply stamps), with allocations; the apply package starts envtest.
	go test -run '^$$' -bench . -benchmem ./internal/rollout/ ./internal/drift/ ./internal/gates/ ./internal/serving/ ./internal/metrics/ ./internal/prom/ ./internal/compact/ ./internal/apply/

# Fleet sizes for make bench; override with e.g. make bench BENCH_N=100.
BENCH_N ?= 100,1000,5000,10000
BENCH_ARGS ?=
# Canaries per run and runs of each controller for make bench-peer.
PEER_N ?= 100,300
PEER_RUNS ?= 3
PEER_ARGS ?=

.PHONY: bench-apicost
bench-apicost: control-plane ## API server CPU per write of each kind the operator makes (AIProduct and ModelVersion status, Event).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go run ./test/apicost

.PHONY: bench-plumbing
bench-plumbing: control-plane ## Each home-made piece of plumbing against its upstream alternative, one bench run each at 5,000 products in 256Mi (about 10 minutes a run); reports in bin/plumbing/.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" hack/plumbing-ab.sh

.PHONY: bench-compare
bench-compare: control-plane ## HEAD against the commit BASE on the scale benchmark, in turns (RUNS, default 3; N, default 5000; 256Mi); summary in bin/compare/.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" hack/bench-compare.sh

.PHONY: bench-peer
bench-peer: control-plane ## The operator and Argo Rollouts (built from the module proxy) one after the other on the local cluster, the same canaries (PEER_N, default 100,300), PEER_RUNS runs each; report in bin/bench/peer.md.
	@mkdir -p bin/bench
	AIPM_NODE=off hack/cluster.sh up >/dev/null
	go run ./test/bench peer -kubeconfig bin/kwok/kubeconfig -rollouts "$$(hack/build-engines.sh rollouts)" \
		-n $(PEER_N) -runs $(PEER_RUNS) -out bin/bench/peer.md $(PEER_ARGS)

.PHONY: bench
bench: control-plane ## Scale benchmark on its own envtest control plane (N products, the plain-client limit); report in bin/bench/report.md.
	@mkdir -p bin/bench
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go run ./test/bench -n $(BENCH_N) -out bin/bench/report.md $(BENCH_ARGS)

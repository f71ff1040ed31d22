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

// kubectl-aipm is the kubectl plugin of aipm-operator: on the PATH, it is
// `kubectl aipm`. See docs/kubectl-plugin.md.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/cli"
)

const usage = `kubectl aipm: see and steer AI products managed by aipm-operator.

Usage:
  kubectl aipm get product NAME [--watch]   the product as a tree: phase and gates,
                                            objectives, the rollout's steps, versions,
                                            experiments and retraining runs
  kubectl aipm promote PRODUCT              promote the canary now (ends a pause)
  kubectl aipm abort PRODUCT                abort the rollout or the promotion
  kubectl aipm retry PRODUCT                retry an aborted or inconclusive rollout
  kubectl aipm retrain PRODUCT [--value V]  start a retraining run (V names it; default: now)
  kubectl aipm approve PRODUCT --role R [--comment C]
                                            sign the canary's promotion off as R (product-manager,
                                            data-scientist, tech-lead or designer); the API server
                                            records who you are and checks you hold the role
  kubectl aipm reject PRODUCT --role R --comment C
                                            reject the canary's promotion as R: the rollout aborts
  kubectl aipm lineage VERSION              the chain of versions, runs and datasets behind VERSION

Flags (anywhere on the line):
  -n, --namespace NS   the namespace (default: the kubeconfig context's)
      --kubeconfig F   the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
      --context C      the kubeconfig context
  -w, --watch          with get: print the tree again whenever it changes
      --value V        with a request: the annotation's value (default: the time now)
      --role R         with approve or reject: the role you sign as
      --comment C      with approve or reject: why
      --as USER        act as USER (impersonation, as kubectl --as)
`

// options are the command line's flags; args are the rest.
type options struct {
	namespace, kubeconfig, context, value, role, comment, as string
	watch                                                    bool
	args                                                     []string
}

// parse reads flags wherever they are on the line, as kubectl does.
func parse(argv []string) (options, error) {
	var o options
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			o.args = append(o.args, argv[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			o.args = append(o.args, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		var dest *string
		switch name {
		case "n", "namespace":
			dest = &o.namespace
		case "kubeconfig":
			dest = &o.kubeconfig
		case "context":
			dest = &o.context
		case "value":
			dest = &o.value
		case "role":
			dest = &o.role
		case "comment":
			dest = &o.comment
		case "as":
			dest = &o.as
		case "w", "watch":
			if hasValue {
				return o, fmt.Errorf("flag --watch takes no value")
			}
			o.watch = true
			continue
		case "h", "help":
			return o, errHelp
		default:
			return o, fmt.Errorf("unknown flag %s", a)
		}
		if !hasValue {
			if i+1 >= len(argv) {
				return o, fmt.Errorf("flag %s needs a value", a)
			}
			i++
			value = argv[i]
		}
		*dest = value
	}
	return o, nil
}

var errHelp = errors.New("help")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	switch {
	case errors.Is(err, errHelp):
		fmt.Print(usage)
	case err != nil:
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, argv []string, out io.Writer) error {
	o, err := parse(argv)
	if err != nil {
		return err
	}
	if len(o.args) == 0 {
		return errHelp
	}
	c, namespace, err := connect(o)
	if err != nil {
		return err
	}
	switch cmd := o.args[0]; {
	case cmd == "get":
		if len(o.args) != 3 || !isProduct(o.args[1]) {
			return fmt.Errorf("usage: kubectl aipm get product NAME [--watch]")
		}
		return get(ctx, c, namespace, o.args[2], o.watch, out)
	case cmd == "lineage":
		if len(o.args) != 2 {
			return fmt.Errorf("usage: kubectl aipm lineage VERSION")
		}
		return cli.PrintLineage(ctx, out, c, namespace, o.args[1])
	case cmd == "approve" || cmd == "reject":
		decision := lifecyclev1alpha1.DecisionApprove
		if cmd == "reject" {
			decision = lifecyclev1alpha1.DecisionReject
		}
		if len(o.args) != 2 || o.role == "" || (cmd == "reject" && o.comment == "") {
			return fmt.Errorf("usage: kubectl aipm %s PRODUCT --role R%s", cmd, map[bool]string{true: " --comment C", false: " [--comment C]"}[cmd == "reject"])
		}
		msg, err := cli.Decide(ctx, c, namespace, o.args[1], o.role, decision, o.comment)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, msg)
		return nil
	case cli.Requests[cmd] != "":
		if len(o.args) != 2 {
			return fmt.Errorf("usage: kubectl aipm %s PRODUCT", cmd)
		}
		msg, err := cli.Request(ctx, c, namespace, o.args[1], cmd, o.value, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintln(out, msg, "(the operator acts on it once and removes it)")
		return nil
	default:
		return fmt.Errorf("unknown command %q; run kubectl aipm --help", cmd)
	}
}

func isProduct(kind string) bool {
	switch kind {
	case "product", "products", "aiproduct", "aiproducts", "aip":
		return true
	}
	return false
}

// connect builds a client from the kubeconfig, as kubectl would, and
// returns the namespace to use.
func connect(o options) (client.Client, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.kubeconfig != "" {
		rules.ExplicitPath = o.kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.context, AuthInfo: clientcmdapi.AuthInfo{Impersonate: o.as}}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", err
	}
	namespace := o.namespace
	if namespace == "" {
		if namespace, _, err = cc.Namespace(); err != nil {
			return nil, "", err
		}
	}
	scheme := runtime.NewScheme()
	if err := lifecyclev1alpha1.AddToScheme(scheme); err != nil {
		return nil, "", err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	return c, namespace, err
}

// get prints the product's tree once, or with watch again whenever it
// changes, until interrupted.
func get(ctx context.Context, c client.Client, namespace, name string, watch bool, out io.Writer) error {
	var last []byte
	for {
		p, err := cli.ReadProduct(ctx, c, namespace, name)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		cli.PrintProduct(&b, p, time.Now())
		if !watch {
			_, err := out.Write(b.Bytes())
			return err
		}
		if !bytes.Equal(stripAges(b.Bytes()), stripAges(last)) {
			fmt.Fprintf(out, "--- %s\n", time.Now().Format(time.TimeOnly))
			if _, err := out.Write(b.Bytes()); err != nil {
				return err
			}
			last = b.Bytes()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
}

// stripAges drops the ages from a tree, so that a watch prints again only
// when something changed, not when time passed.
func stripAges(b []byte) []byte {
	var out bytes.Buffer
	for _, l := range strings.Split(string(b), "\n") {
		if i := strings.LastIndex(l, " ago"); i > 0 {
			if j := strings.LastIndex(l[:i], ", "); j > 0 {
				l = l[:j] + l[i+len(" ago"):]
			}
		}
		out.WriteString(l + "\n")
	}
	return out.Bytes()
}

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

package prom

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// tlsPrometheus answers instant queries with 1 over TLS, to requests that
// carry the header and authorization want asks for; it counts the others.
func tlsPrometheus(t *testing.T, want func(r *http.Request) bool) (*httptest.Server, string, *atomic.Int32) {
	t.Helper()
	refused := &atomic.Int32{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !want(r) {
			refused.Add(1)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"1"]}]}}`))
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, ca, refused
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Basic authentication, a tenant header and a private CA, all from files
// and flags, as a Mimir or Thanos behind a proxy asks for.
func TestBasicAuthTenantHeaderAndCA(t *testing.T) {
	srv, ca, refused := tlsPrometheus(t, func(r *http.Request) bool {
		user, pass, ok := r.BasicAuth()
		return ok && user == "aipm" && pass == "s3cret" && r.Header.Get("X-Scope-OrgID") == "team-a"
	})
	auth := Auth{CAFile: ca, BasicAuthUser: "aipm", BasicAuthPasswordFile: write(t, "password", "s3cret\n"),
		Headers: map[string]string{"X-Scope-OrgID": "team-a"}}
	q, err := NewClientWith(srv.URL, 5*time.Second, auth)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := q.Query(context.Background(), "vector(1)"); err != nil || v != 1 {
		t.Fatalf("Query = %v, %v; want 1", v, err)
	}

	for name, a := range map[string]Auth{
		"without the CA":     {BasicAuthUser: "aipm", BasicAuthPasswordFile: auth.BasicAuthPasswordFile, Headers: auth.Headers},
		"without the tenant": {CAFile: ca, BasicAuthUser: "aipm", BasicAuthPasswordFile: auth.BasicAuthPasswordFile},
		"a wrong password":   {CAFile: ca, BasicAuthUser: "aipm", BasicAuthPasswordFile: write(t, "wrong", "guess"), Headers: auth.Headers},
	} {
		q, err := NewClientWith(srv.URL, 5*time.Second, a)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.Query(context.Background(), "vector(1)"); err == nil {
			t.Errorf("%s: the query succeeded", name)
		}
	}
	if refused.Load() != 2 {
		t.Errorf("the server refused %d requests, want 2 (the CA-less client never reaches it)", refused.Load())
	}
}

// A bearer token is read from its file on each request: a rotated token is
// used without a restart.
func TestBearerTokenFileIsReadOnUse(t *testing.T) {
	var token atomic.Value
	token.Store("first")
	srv, ca, _ := tlsPrometheus(t, func(r *http.Request) bool {
		return r.Header.Get("Authorization") == "Bearer "+token.Load().(string)
	})
	file := write(t, "token", "first")
	q, err := NewClientWith(srv.URL, 5*time.Second, Auth{CAFile: ca, BearerTokenFile: file})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Query(context.Background(), "vector(1)"); err != nil {
		t.Fatalf("first token: %v", err)
	}
	token.Store("rotated")
	if err := os.WriteFile(file, []byte("rotated"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Query(context.Background(), "vector(1)"); err != nil {
		t.Fatalf("rotated token: %v", err)
	}
}

// A client certificate needs its key; the mistake is reported when the
// client is made, at the operator's start, not at the first query.
func TestClientCertificateWithoutKeyIsRefused(t *testing.T) {
	if _, err := NewClientWith("https://prometheus:9090", time.Second, Auth{CertFile: "/nonexistent/cert.pem"}); err == nil {
		t.Fatal("a client certificate without a key was accepted")
	}
}

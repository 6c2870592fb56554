using System.Diagnostics;
using System.Globalization;

namespace Tattle.Tests.Support;

/// <summary>
/// A Go HTTPS program built once per test run with Debian's toolchain (standard library only, offline), plain and
/// stripped (<c>-ldflags='-s -w'</c>), and what <c>go</c> says of it. Its modes:
/// <list type="bullet">
/// <item><c>get URL</c>: one GET, prints the status and protocol (HTTP/2 when the server offers h2).</item>
/// <item><c>serve ADDR CERT KEY</c>: an HTTPS server (HTTP/2 and HTTP/1.1) answering <c>path proto</c>.</item>
/// <item><c>load URL CONNS REQS [h1]</c>: CONNS goroutines, each with a connection of its own, make REQS GETs of
/// URL/cK/rI; prints <c>cK LOCALPORT</c> per connection and <c>done N</c>.</item>
/// <item><c>race ADDR CONNS</c>: CONNS connections in turn, each with two GETs written at once from two threads
/// (their session's first plaintext), then a third that closes it; prints <c>done N</c>.</item>
/// <item><c>offsets</c>: the struct offsets from tls.Conn to its descriptor, by reflection.</item>
/// </list>
/// </summary>
public sealed record GoPrograms(string Plain, string Stripped, string Version, Dictionary<string, ulong> NmAddresses)
{
    private static readonly Lazy<GoPrograms> Built = new(Build);

    private const string Source = """
        package main

        import (
        	"crypto/tls"
        	"fmt"
        	"io"
        	"net"
        	"net/http"
        	"net/http/httptrace"
        	"os"
        	"reflect"
        	"runtime"
        	"strconv"
        	"sync"
        	"sync/atomic"
        )

        func insecure(h2 bool) *http.Transport {
        	t := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: h2, MaxConnsPerHost: 1}
        	if !h2 {
        		t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
        	}
        	return t
        }

        func get(url string) {
        	resp, err := (&http.Client{Transport: insecure(true)}).Get(url)
        	if err != nil {
        		fmt.Println(err)
        		os.Exit(1)
        	}
        	io.Copy(io.Discard, resp.Body)
        	fmt.Println(resp.Status, resp.Proto)
        }

        func load(url string, conns, reqs int, h2 bool) {
        	// Few threads for many goroutines: calls move between threads while they wait for the network.
        	runtime.GOMAXPROCS(2)
        	var wg sync.WaitGroup
        	var mu sync.Mutex
        	done := 0
        	for c := 0; c < conns; c++ {
        		wg.Add(1)
        		go func(c int) {
        			defer wg.Done()
        			client := &http.Client{Transport: insecure(h2)}
        			for i := 0; i < reqs; i++ {
        				req, _ := http.NewRequest("GET", fmt.Sprintf("%s/c%d/r%d", url, c, i), nil)
        				trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
        					if !info.Reused {
        						mu.Lock()
        						fmt.Printf("c%d %d\n", c, info.Conn.LocalAddr().(*net.TCPAddr).Port)
        						mu.Unlock()
        					}
        				}}
        				resp, err := client.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
        				if err != nil {
        					fmt.Println(err)
        					os.Exit(1)
        				}
        				io.Copy(io.Discard, resp.Body)
        				resp.Body.Close()
        				mu.Lock()
        				done++
        				mu.Unlock()
        			}
        		}(c)
        	}
        	wg.Wait()
        	fmt.Println("done", done)
        }

        func race(addr string, conns int) {
        	runtime.GOMAXPROCS(2)
        	for c := 0; c < conns; c++ {
        		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
        		if err != nil {
        			fmt.Println(err)
        			os.Exit(1)
        		}
        		// Two threads spin until both are ready, then write at once: the session's first plaintext twice.
        		var ready int32
        		var wg sync.WaitGroup
        		for _, p := range []string{"a", "b"} {
        			wg.Add(1)
        			go func(p string) {
        				defer wg.Done()
        				runtime.LockOSThread()
        				atomic.AddInt32(&ready, 1)
        				for atomic.LoadInt32(&ready) < 2 {
        				}
        				fmt.Fprintf(conn, "GET /c%d/%s HTTP/1.1\r\nHost: x\r\n\r\n", c, p)
        			}(p)
        		}
        		wg.Wait()
        		fmt.Fprintf(conn, "GET /c%d/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", c)
        		io.Copy(io.Discard, conn)
        		conn.Close()
        	}
        	fmt.Println("done", conns)
        }

        func offsets() {
        	conn, _ := reflect.TypeOf(tls.Conn{}).FieldByName("conn")
        	fd := reflect.TypeOf(net.TCPConn{}).Field(0).Type.Field(0)
        	pfd := fd.Type.Elem().Field(0)
        	sysfd, _ := pfd.Type.FieldByName("Sysfd")
        	fmt.Println(conn.Offset, fd.Offset, pfd.Offset+sysfd.Offset)
        }

        func main() {
        	switch os.Args[1] {
        	case "get":
        		get(os.Args[2])
        	case "serve":
        		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
        			fmt.Fprintf(w, "%s %s\n", r.URL.Path, r.Proto)
        		})
        		panic(http.ListenAndServeTLS(os.Args[2], os.Args[3], os.Args[4], nil))
        	case "load":
        		conns, _ := strconv.Atoi(os.Args[3])
        		reqs, _ := strconv.Atoi(os.Args[4])
        		load(os.Args[2], conns, reqs, len(os.Args) < 6 || os.Args[5] != "h1")
        	case "race":
        		conns, _ := strconv.Atoi(os.Args[3])
        		race(os.Args[2], conns)
        	case "offsets":
        		offsets()
        	}
        }
        """;

    /// <summary>The programs, built on first use; skips (fails under CI) without a Go toolchain.</summary>
    public static GoPrograms Get(ITestOutputHelper output)
    {
        Requires.Program(output, "go");
        return Built.Value;
    }

    private static GoPrograms Build()
    {
        var dir = Directory.CreateTempSubdirectory("tattle-go-").FullName;
        File.WriteAllText(Path.Combine(dir, "go.mod"), "module x\n\ngo 1.19\n");
        File.WriteAllText(Path.Combine(dir, "main.go"), Source);
        string plain = Path.Combine(dir, "plain");
        string stripped = Path.Combine(dir, "stripped");
        Go(dir, "build", "-o", plain, ".");
        Go(dir, "build", "-ldflags=-s -w", "-o", stripped, ".");
        string version = Go(dir, "version").Split(' ')[2];
        return new GoPrograms(plain, stripped, version, Nm(dir, plain));
    }

    /// <summary>`go tool nm`'s text symbols (it reads `.symtab`, so only of the plain binary).</summary>
    private static Dictionary<string, ulong> Nm(string dir, string binary)
    {
        var symbols = new Dictionary<string, ulong>();
        foreach (var line in Go(dir, "tool", "nm", binary).Split('\n'))
        {
            var parts = line.Trim().Split(' ', 3);
            if (parts.Length == 3 && parts[1] is "T" or "t")
            {
                symbols.TryAdd(parts[2], ulong.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            }
        }
        return symbols;
    }

    private static string Go(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("go", args)
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // The standard library only, built offline into caches every run shares.
        psi.Environment["GOCACHE"] = "/tmp/tattle-go-cache";
        psi.Environment["GOPATH"] = "/tmp/tattle-go-path";
        psi.Environment["GOPROXY"] = "off";
        psi.Environment["GOFLAGS"] = "";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(600_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"go {string.Join(' ', args)} did not finish");
        }
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"go {string.Join(' ', args)}: {stderr.Result}");
        }
        return stdout;
    }
}

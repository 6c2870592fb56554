// An HTTPS server in Go's own crypto/tls for bench/overhead/run.sh (the -go conditions): serves the files of a
// directory on one port, HTTP/1.1 and HTTP/2 as the client offers.
package main

import (
	"net/http"
	"os"
)

func main() {
	panic(http.ListenAndServeTLS(os.Args[1], os.Args[2], os.Args[3], http.FileServer(http.Dir(os.Args[4]))))
}

import GatewayClient
import GatewayHTTP
import Testing

/// Plain HTTP beyond this machine is said, on both ends (tokens would cross in clear text).
struct PlainTextWarningTests {
    @Test func clientsWarnAboutPlainHTTPToAnotherMachine() {
        for url in ["http://gateway.example:8080", "http://10.0.0.5/", "http://[2001:db8::1]:80"] {
            #expect(GatewayClient.plainTextWarning(url)?.contains("clear text") == true, "\(url)")
        }
        for url in ["https://gateway.example", "http://127.0.0.1:8080", "http://localhost:8090", "http://[::1]:8080"] {
            #expect(GatewayClient.plainTextWarning(url) == nil, "\(url)")
        }
    }

    @Test func serversWarnWhenTheyListenBeyondLoopbackWithoutTLS() {
        var l = ListenSettings()
        #expect(l.plainTextWarning == nil)
        l.host = "0.0.0.0"
        #expect(l.plainTextWarning?.contains("clear text") == true)
        l.tls = TLSFiles(certificate: "c.pem", key: "k.pem")
        #expect(l.plainTextWarning == nil)
    }
}

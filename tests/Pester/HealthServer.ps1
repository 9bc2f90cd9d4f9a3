# A loopback HTTP health endpoint for the promotion tests, run as its own pwsh process:
#   /ok -> 200, /fail -> 500, /slow -> 200 after 5 s, /flaky -> 500 on every 2nd request.
param([Parameter(Mandatory)] [int] $Port)
$listener = [Net.HttpListener]::new()
$listener.Prefixes.Add("http://127.0.0.1:$Port/")
$listener.Start()
$n = 0
while ($listener.IsListening) {
    $context = $listener.GetContext()
    $n++
    $status = switch ($context.Request.Url.AbsolutePath) {
        '/ok' { 200 }
        '/fail' { 500 }
        '/slow' { Start-Sleep -Seconds 5; 200 }
        '/flaky' { if ($n % 2) { 200 } else { 500 } }
        default { 404 }
    }
    try {
        $context.Response.StatusCode = $status
        $bytes = [Text.Encoding]::UTF8.GetBytes("status $status")
        $context.Response.OutputStream.Write($bytes, 0, $bytes.Length)
        $context.Response.Close()
    } catch {
        # the client gave up (timeout test); keep serving
    }
}

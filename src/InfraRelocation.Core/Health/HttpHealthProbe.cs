using System.Diagnostics;

namespace InfraRelocation.Core.Health;

/// <param name="StatusCode">Null when no HTTP answer arrived (see <see cref="Error"/>).</param>
public sealed record HttpHealthResult(Uri Url, int? StatusCode, TimeSpan Latency, bool Healthy, string? Error);

/// <summary>
/// One GET against a health URL, redirects not followed: healthy when the status is in the expected set
/// (default 200). Network failures and timeouts are reported in the result, not thrown; only the caller's
/// cancellation throws.
/// </summary>
public sealed class HttpHealthProbe : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _owns;

    public HttpHealthProbe(HttpClient? client = null)
    {
        _owns = client is null;
        _http = client ?? new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, ConnectTimeout = TimeSpan.FromSeconds(10) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public static readonly IReadOnlyCollection<int> DefaultExpected = [200];

    public async Task<HttpHealthResult> ProbeAsync(Uri url, IReadOnlyCollection<int>? expectedStatus = null, TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        expectedStatus = expectedStatus is { Count: > 0 } ? expectedStatus : DefaultExpected;
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        using var timeoutCts = new CancellationTokenSource(limit);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
        var sw = Stopwatch.StartNew();
        try
        {
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var code = (int)response.StatusCode;
            var ok = expectedStatus.Contains(code);
            return new(url, code, sw.Elapsed, ok, ok ? null : $"status {code}, expected {string.Join("/", expectedStatus)}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new(url, null, sw.Elapsed, false, $"no answer within {limit.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex)
        {
            return new(url, null, sw.Elapsed, false, ex.InnerException?.Message ?? ex.Message);
        }
    }

    public void Dispose()
    {
        if (_owns) _http.Dispose();
    }
}

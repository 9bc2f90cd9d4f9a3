using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Gates;
using InfraRelocation.Core.Health;
using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Transitions;

/// <summary>Settings of the promotion's health gate.</summary>
public sealed record PromotionProbeOptions
{
    /// <summary>Consecutive healthy probes required.</summary>
    public int Probes { get; init; } = 3;
    /// <summary>Pause between probes.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>The required run of healthy probes must be reached within this time from the first probe.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>Per-probe timeout (no answer in time = unhealthy).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>Outcome of the health gate: healthy when <see cref="PromotionProbeOptions.Probes"/> consecutive probes passed in the window.</summary>
public sealed record PromotionProbeResult(bool Healthy, IReadOnlyList<HealthProbeRecord> Probes, string Summary);

/// <summary>
/// The health gate of Invoke-RelocationPromotion: probes the service's <c>health_url</c> until N consecutive probes are
/// healthy (status in the expected set: the health binding's <c>expect</c> when the service has an endpoint there,
/// else 200; redirects, other codes and timeouts are unhealthy), or the window runs out.
/// </summary>
public static class PromotionHealthGate
{
    /// <summary>Expected status codes for <paramref name="service"/>: its services.health.yaml endpoint's, else 200.</summary>
    /// <summary>The service's health URL, or null when it has none (blank, <c>null</c>, <c>none</c>: the gates' rule).</summary>
    public static string? HealthUrlOf(InfraRelocation.Model.ServiceMove service) => ServiceRules.Blank(service.HealthUrl);

    public static IReadOnlyList<int> ExpectedStatus(EstateSnapshot estate, string service) =>
        estate.HealthBindings?.Endpoints.FirstOrDefault(e => e.Id == service) is { Expect.Count: > 0 } endpoint ? endpoint.Expect : [200];

    public static async Task<PromotionProbeResult> RunAsync(Uri url, IReadOnlyCollection<int> expected, PromotionProbeOptions options,
        HttpHealthProbe probe, TimeProvider? clock = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(probe);
        clock ??= TimeProvider.System;
        if (options.Probes < 1)
        {
            throw new RelocationException("InvalidProbeCount", FailureKind.InvalidArgument, "At least one probe is required.", null, options.Probes);
        }
        var records = new List<HealthProbeRecord>();
        var start = clock.GetTimestamp();
        var consecutive = 0;
        var attempt = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            attempt++;
            var at = clock.GetUtcNow();
            var result = await probe.ProbeAsync(url, expected, options.Timeout, cancellationToken).ConfigureAwait(false);
            records.Add(new HealthProbeRecord
            {
                Attempt = attempt, Url = url.ToString(), StatusCode = result.StatusCode, LatencyMs = Math.Round(result.Latency.TotalMilliseconds, 1),
                Healthy = result.Healthy, Error = result.Error, AtUtc = at,
            });
            consecutive = result.Healthy ? consecutive + 1 : 0;
            if (consecutive >= options.Probes)
            {
                return new PromotionProbeResult(true, records, $"{consecutive} consecutive healthy probe(s) of {url} in {attempt} attempt(s)");
            }
            var elapsed = clock.GetElapsedTime(start);
            var remainingNeeded = options.Probes - consecutive;
            // Stop as soon as the window cannot fit the probes still needed.
            if (elapsed + TimeSpan.FromTicks(options.Interval.Ticks * remainingNeeded) > options.Window)
            {
                var last = records[^1];
                return new PromotionProbeResult(false, records,
                    $"{url} did not answer healthy {options.Probes} time(s) in a row within {options.Window.TotalSeconds:0.#} s " +
                    $"(best run {BestRun(records)}; last: {(last.Healthy ? "healthy" : last.Error ?? "unhealthy")})");
            }
            await Task.Delay(options.Interval, clock, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The errors that make a written promotion revert: parity (D35) and placement (D37) on the files as written, except
    /// findings about other services (theirs to fix; their SSOT updates may still be pending). Estate-wide findings count.
    /// </summary>
    public static IReadOnlyList<RelocationFinding> ErrorsAfterWrite(EstateSnapshot written, string service)
    {
        ArgumentNullException.ThrowIfNull(written);
        var otherServices = written.Manifest?.Services.Select(s => s.Service).Where(s => s != service).ToHashSet(StringComparer.Ordinal) ?? [];
        return new[] { ParityGate.Evaluate(written), PlacementGate.Evaluate(written) }
            .SelectMany(r => r.Findings)
            .Where(f => f.Severity == FindingSeverity.Error && !(f.Subject is { } subject && otherServices.Contains(subject)))
            .ToList();
    }

    private static int BestRun(IEnumerable<HealthProbeRecord> records)
    {
        int best = 0, run = 0;
        foreach (var r in records)
        {
            run = r.Healthy ? run + 1 : 0;
            best = Math.Max(best, run);
        }
        return best;
    }
}

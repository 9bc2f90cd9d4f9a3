using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Health;
using InfraRelocation.Model;
using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Transitions;

/// <summary>Why a promotion stops before anything is written (an error id and its message).</summary>
public sealed record PromotionRefusal(string ErrorId, string Message);

/// <summary>
/// One promotion of a service (cutover -> migrated), the rules of Invoke-RelocationPromotion in the order a
/// transition runs them: <see cref="Plan"/> (only a service in cutover), <see cref="CheckHealthAsync"/> between the
/// preview and the write (N consecutive healthy probes of its health_url), <see cref="ParityAfterWrite"/> on the
/// written files (a failure reverts). What each found goes into the receipt through <see cref="Describe"/>.
/// </summary>
public sealed class Promotion(string service, PromotionProbeOptions options)
{
    private readonly List<HealthProbeRecord> _probes = [];

    public string Service => service;
    public string? HealthUrl { get; private set; }
    public IReadOnlyList<int> ExpectedStatus { get; private set; } = [200];
    public IReadOnlyList<HealthProbeRecord> Probes => _probes;
    public bool? ParityPassed { get; private set; }
    public string? RevertReason { get; private set; }

    /// <summary>The health gate's verdict when it failed (null when it passed or did not run).</summary>
    public string? Unhealthy { get; private set; }

    /// <summary>The transition's plan: the service to migrated (via promotion); refuses a service not in cutover.</summary>
    public TransitionPlan Plan(EstateSnapshot estate, TransitionEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(estate);
        var move = estate.Manifest?.Services.FirstOrDefault(s => s.Service == service);
        if (move is not null)
        {
            HealthUrl = PromotionHealthGate.HealthUrlOf(move);
            ExpectedStatus = PromotionHealthGate.ExpectedStatus(estate, service);
            if (move.Status is not { } status || !(status == ServiceStatus.Cutover || ServiceStatusMachine.IsPromoted(status)))
            {
                throw new RelocationException("PromotionNeedsCutover", FailureKind.InvalidOperation,
                    $"Only a service in cutover can be promoted; '{service}' is {move.StatusText ?? "(no status)"}.",
                    move.LocationOf("status"), service);
            }
        }
        return TransitionPlanner.PlanService(estate, Request, env);
    }

    private ServiceTransitionRequest Request => new(service, ServiceStatus.Migrated) { ViaPromotion = true };

    /// <summary>The files the promotion may edit besides the manifest (<see cref="TransitionPlanner.FilesEdited"/>).</summary>
    public IReadOnlyList<string> FilesEdited(EstateLayout layout) => TransitionPlanner.FilesEdited(layout, Request);

    /// <summary>The health gate: null when healthy, else why nothing may be written. Call after <see cref="Plan"/>.</summary>
    public async Task<PromotionRefusal?> CheckHealthAsync(HttpHealthProbe probe, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (HealthUrl is null)
        {
            return new PromotionRefusal("HealthUrlMissing",
                $"'{service}' has no health_url to probe; promote it with Set-RelocationServiceStatus -Status applied -Force -Reason '<why>' (recorded as an override).");
        }
        if (!Uri.TryCreate(HealthUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            return new PromotionRefusal("HealthUrlInvalid", $"health_url '{HealthUrl}' of '{service}' is not an http(s) URL.");
        }
        var result = await PromotionHealthGate.RunAsync(url, ExpectedStatus, options, probe, null, cancellationToken).ConfigureAwait(false);
        _probes.AddRange(result.Probes);
        Unhealthy = result.Healthy ? null : result.Summary;
        return result.Healthy ? null : new PromotionRefusal("PromotionUnhealthy", $"Promotion of '{service}' blocked: {result.Summary}. Nothing was written.");
    }

    /// <summary>D35 and D37 on the written files (errors of other services do not count): null, or why to revert.</summary>
    public string? ParityAfterWrite(EstateSnapshot written)
    {
        var errors = PromotionHealthGate.ErrorsAfterWrite(written, service);
        ParityPassed = errors.Count == 0;
        if (ParityPassed.Value)
        {
            return null;
        }
        RevertReason = $"parity failed on the written files ({string.Join("; ", errors.Take(3).Select(f => $"{f.RuleId}: {f.Message}"))}{(errors.Count > 3 ? $"; and {errors.Count - 3} more" : "")})";
        return RevertReason;
    }

    /// <summary>The receipt's promotion facts: health URL, expected status, every probe, the parity verdict.</summary>
    public PromotionReceipt Describe(PromotionReceipt receipt) => receipt with
    {
        HealthUrl = HealthUrl,
        ExpectedStatus = ExpectedStatus,
        Probes = _probes.ToList(),
        ParityPassed = ParityPassed,
        RevertReason = RevertReason,
    };
}

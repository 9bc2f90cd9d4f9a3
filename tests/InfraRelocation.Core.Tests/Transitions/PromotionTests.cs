using InfraRelocation.Core.Health;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Tests.Transitions;

/// <summary>The promotion's rules in Core (Invoke-RelocationPromotion only binds and reports them).</summary>
public sealed class PromotionTests : IDisposable
{
    private static readonly PromotionProbeOptions Fast = new()
    {
        Probes = 2, Interval = TimeSpan.FromMilliseconds(20), Window = TimeSpan.FromSeconds(3), Timeout = TimeSpan.FromSeconds(5),
    };

    private static readonly TransitionEnvironment Env = new()
    {
        Now = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero), Actor = "operator", Ledger = LedgerView.Empty,
    };

    private readonly SampleCopy _estate = new();

    // The sample's wiki is in shadow; a promotion starts from cutover.
    public PromotionTests() => _estate.Replace(SampleCopy.Manifest,
        "backup_target: \"nas-fra1:/volume1/backups/apps/wiki\"\n    status: \"shadow\"",
        "backup_target: \"nas-fra1:/volume1/backups/apps/wiki\"\n    status: \"cutover\"");

    public void Dispose() => _estate.Dispose();

    [Fact]
    public void Plan_RefusesAServiceThatIsNotInCutover_AtItsStatusLine()
    {
        var ex = Assert.Throws<RelocationException>(() => new Promotion("bookmarks", Fast).Plan(_estate.Load(), Env));

        Assert.Equal("PromotionNeedsCutover", ex.ErrorId);
        Assert.Contains("'bookmarks' is planned", ex.Message, StringComparison.Ordinal);
        Assert.Equal(SampleCopy.Manifest, ex.Location?.File);
        Assert.Equal(140, ex.Location?.Line);
    }

    [Fact]
    public void Plan_OfAServiceInCutover_MovesItToMigrated_AndReadsItsHealthUrl()
    {
        var promotion = new Promotion("wiki", Fast);

        var plan = promotion.Plan(_estate.Load(), Env);

        Assert.Equal("http://192.0.2.110:3000/healthz", promotion.HealthUrl);
        Assert.Contains(plan.Edits, e => e.File == SampleCopy.Manifest);
    }

    [Fact]
    public async Task CheckHealth_WithoutAHealthUrl_RefusesWithoutProbing()
    {
        _estate.Replace(SampleCopy.Manifest, "health_url: \"http://192.0.2.110:3000/healthz\"", "health_url: null");
        var promotion = new Promotion("wiki", Fast);
        promotion.Plan(_estate.Load(), Env);
        using var probe = new HttpHealthProbe();

        var refusal = await promotion.CheckHealthAsync(probe);

        Assert.Equal("HealthUrlMissing", refusal?.ErrorId);
        Assert.Empty(promotion.Probes);
    }

    [Fact]
    public async Task CheckHealth_OfANonHttpUrl_Refuses()
    {
        _estate.Replace(SampleCopy.Manifest, "http://192.0.2.110:3000/healthz", "ftp://192.0.2.110/healthz");
        var promotion = new Promotion("wiki", Fast);
        promotion.Plan(_estate.Load(), Env);
        using var probe = new HttpHealthProbe();

        Assert.Equal("HealthUrlInvalid", (await promotion.CheckHealthAsync(probe))?.ErrorId);
    }

    [Fact]
    public async Task CheckHealth_Healthy_PassesAndTheReceiptCarriesEveryProbe()
    {
        using var server = new ScriptedHttpServer(_ => 200);
        _estate.Replace(SampleCopy.Manifest, "http://192.0.2.110:3000/healthz", server.Url.ToString());
        var promotion = new Promotion("wiki", Fast);
        promotion.Plan(_estate.Load(), Env);
        using var probe = new HttpHealthProbe();

        Assert.Null(await promotion.CheckHealthAsync(probe));
        var receipt = promotion.Describe(new PromotionReceipt { Subject = "wiki", Service = "wiki" });

        Assert.Null(promotion.Unhealthy);
        Assert.Equal(2, receipt.Probes.Count);
        Assert.All(receipt.Probes, p => Assert.True(p.Healthy));
        Assert.Equal(server.Url.ToString(), receipt.HealthUrl);
    }

    [Fact]
    public async Task CheckHealth_Unhealthy_RefusesAndKeepsTheVerdictForTheRollback()
    {
        using var server = new ScriptedHttpServer(_ => 503);
        _estate.Replace(SampleCopy.Manifest, "http://192.0.2.110:3000/healthz", server.Url.ToString());
        var promotion = new Promotion("wiki", Fast with { Window = TimeSpan.FromMilliseconds(200) });
        promotion.Plan(_estate.Load(), Env);
        using var probe = new HttpHealthProbe();

        var refusal = await promotion.CheckHealthAsync(probe);

        Assert.Equal("PromotionUnhealthy", refusal?.ErrorId);
        Assert.Contains("Nothing was written", refusal?.Message, StringComparison.Ordinal);
        Assert.NotNull(promotion.Unhealthy);
        Assert.All(promotion.Probes, p => Assert.False(p.Healthy));
    }

    [Fact]
    public void ParityAfterWrite_PassesOnTheSample_AndNamesTheErrorsOfABrokenWrite()
    {
        var clean = new Promotion("wiki", Fast);
        Assert.Null(clean.ParityAfterWrite(_estate.Load()));
        Assert.True(clean.ParityPassed);

        _estate.Replace(SampleCopy.Manifest, "vm_id: \"210\"", "vm_id: \"99999\"");
        var broken = new Promotion("wiki", Fast);
        var reason = broken.ParityAfterWrite(_estate.Load());

        Assert.False(broken.ParityPassed);
        Assert.StartsWith("parity failed on the written files (D37.", reason, StringComparison.Ordinal);
        Assert.Equal(reason, broken.Describe(new PromotionReceipt { Subject = "wiki", Service = "wiki" }).RevertReason);
    }
}

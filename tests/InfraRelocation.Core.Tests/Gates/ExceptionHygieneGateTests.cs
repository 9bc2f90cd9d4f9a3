using InfraRelocation.Core.Gates;
using InfraRelocation.Gates;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Gates;

public class ExceptionHygieneGateTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static (GateResult Result, ExceptionEntry Entry) Run(string? expires, bool register = false, IReadOnlyList<string>? paths = null, double warningDays = 7)
    {
        var b = new EstateBuilder();
        var entry = EstateBuilder.At(new ExceptionEntry
        {
            Label = "x", ExpiresAtText = expires, AllowedPaths = paths, File = register ? EstateBuilder.RegisterFile : EstateBuilder.ManifestFile,
        }, register ? EstateBuilder.RegisterFile : EstateBuilder.ManifestFile, "label", "expires_at");
        b.ManifestExceptions.Clear();
        (register ? b.RegisterExceptions : b.ManifestExceptions).Add(entry);
        return (ExceptionHygieneGate.Evaluate(b.Build(), new GateOptions { Now = Now, WarningDays = warningDays }), entry);
    }

    [Fact]
    public void FutureExpiryPasses()
    {
        var (result, _) = Run("2027-06-01T00:00:00Z");
        Assert.True(result.Passed);
        Assert.Empty(result.Findings);
    }

    [Fact]
    public void ExpiredFailsAtItsLocation()
    {
        var (result, entry) = Run("2026-11-01T00:00:00Z");
        var f = Assert.Single(result.Findings);
        Assert.Equal("D36.Expired", f.RuleId);
        Assert.Equal(FindingSeverity.Error, f.Severity);
        Assert.Equal(entry.LocationOf("expires_at"), f.Location);
        Assert.False(result.Passed);
    }

    [Fact]
    public void ExpiringWithinTheWindowWarns()
    {
        var (result, entry) = Run("2026-11-30T00:00:00Z");
        var f = Assert.Single(result.Findings);
        Assert.Equal("D36.ExpiringSoon", f.RuleId);
        Assert.Equal(FindingSeverity.Warning, f.Severity);
        Assert.Equal(entry.LocationOf("expires_at"), f.Location);
        Assert.True(result.Passed);
    }

    [Fact]
    public void WarningWindowIsConfigurable()
    {
        Assert.Empty(Run("2026-11-30T00:00:00Z", warningDays: 2).Result.Findings);
        Assert.Single(Run("2026-12-20T00:00:00Z", warningDays: 30).Result.Findings);
    }

    [Theory]
    [InlineData("next tuesday")]
    [InlineData("2026-13-45")]
    public void MalformedDateFailsWithItsLocation(string text)
    {
        var (result, entry) = Run(text);
        var f = Assert.Single(result.Findings);
        Assert.Equal("D36.ExpiryMalformed", f.RuleId);
        Assert.Equal(entry.LocationOf("expires_at"), f.Location);
        Assert.Equal(text, f.Actual);
    }

    [Fact]
    public void MissingExpiryFails()
    {
        var (result, entry) = Run(null);
        Assert.Equal("D36.ExpiryMissing", Assert.Single(result.Findings).RuleId);
        Assert.Equal(entry.Location, result.Findings[0].Location);
    }

    [Fact]
    public void ValueWithoutZoneIsUtc()
    {
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 11, 0, 0, TimeSpan.Zero), ExceptionHygieneGate.ParseExpiry("2026-11-26T11:00:00"));
        Assert.Equal("D36.Expired", Assert.Single(Run("2026-11-26T11:59:00").Result.Findings).RuleId);
    }

    [Fact]
    public void OffsetIsHonoured()
    {
        // 13:00 at +02:00 is 11:00Z: already expired at 12:00Z.
        Assert.Equal("D36.Expired", Assert.Single(Run("2026-11-26T13:00:00+02:00").Result.Findings).RuleId);
    }

    [Fact]
    public void RegisterIsCheckedToo()
    {
        var (result, entry) = Run("2026-01-01T00:00:00Z", register: true, paths: ["/opt/x"]);
        var f = Assert.Single(result.Findings);
        Assert.Equal("D36.Expired", f.RuleId);
        Assert.Equal(EstateBuilder.RegisterFile, f.Location!.File);
    }

    [Theory]
    [InlineData("1970-01-01T00:00:00Z", new[] { "/opt/x" })]
    [InlineData("2026-01-01T00:00:00Z", new string[0])]
    [InlineData("2026-01-01T00:00:00Z", null)]
    public void NoOpRegisterEntriesAreSkipped(string expires, string[]? paths)
    {
        Assert.Empty(Run(expires, register: true, paths: paths).Result.Findings);
    }
}

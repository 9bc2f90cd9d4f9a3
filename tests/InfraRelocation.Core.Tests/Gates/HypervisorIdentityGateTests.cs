using InfraRelocation.Core.Gates;
using InfraRelocation.Gates;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Gates;

public class HypervisorIdentityGateTests
{
    private static Dictionary<string, HypervisorObservation> Healthy() => new()
    {
        ["hv-east"] = new HypervisorObservation { HostId = "hv-east", Hostname = "hv-east", MachineId = "00112233445566778899aabbccddeeff" },
        ["hv-west"] = new HypervisorObservation { HostId = "hv-west", Hostname = "hv-west", MachineId = "ffeeddccbbaa99887766554433221100" },
    };

    private static RelocationFinding Single(GateResult result, string rule)
    {
        var matches = result.Findings.Where(f => f.RuleId == rule).ToList();
        Assert.True(matches.Count == 1, $"expected one {rule}, got: {string.Join(" | ", result.Findings)}");
        return matches[0];
    }

    [Fact]
    public void ConsistentPolicyPasses()
    {
        var result = HypervisorIdentityGate.Evaluate(new EstateBuilder().Build());
        Assert.True(result.Passed, string.Join("\n", result.Findings));
        Assert.Equal(2, result.Checked);
    }

    [Fact]
    public void LiveObservationsThatMatchPass()
    {
        var result = HypervisorIdentityGate.Evaluate(new EstateBuilder().Build(), new GateOptions { Observations = Healthy() });
        Assert.True(result.Passed, string.Join("\n", result.Findings));
    }

    [Fact]
    public void DuplicatePinnedMachineIdFails()
    {
        var b = new EstateBuilder();
        b.Hosts["hv-west"] = b.Hosts["hv-west"] with { MachineId = b.Hosts["hv-east"].MachineId };
        var f = Single(HypervisorIdentityGate.Evaluate(b.Build()), "IDENTITY.DuplicateMachineId");
        Assert.Equal(b.Hosts["hv-west"].LocationOf("machine_id"), f.Location);
        Assert.Equal(b.Hosts["hv-east"].LocationOf("machine_id"), f.RelatedLocation);
    }

    [Fact]
    public void MalformedMachineIdFails()
    {
        var b = new EstateBuilder();
        b.Hosts["hv-west"] = b.Hosts["hv-west"] with { MachineId = "not-hex" };
        var f = Single(HypervisorIdentityGate.Evaluate(b.Build()), "IDENTITY.MachineIdMalformed");
        Assert.Equal(b.Hosts["hv-west"].LocationOf("machine_id"), f.Location);
    }

    [Fact]
    public void UnpinnedMachineIdWarns()
    {
        var b = new EstateBuilder();
        b.Hosts["hv-west"] = b.Hosts["hv-west"] with { MachineId = null };
        var result = HypervisorIdentityGate.Evaluate(b.Build());
        Assert.True(result.Passed);
        Assert.Equal(FindingSeverity.Warning, Single(result, "IDENTITY.MachineIdNotPinned").Severity);
    }

    [Fact]
    public void DuplicateExpectedHostnameFails()
    {
        var b = new EstateBuilder();
        b.Naming.Add(new NamingException { Host = "hv-west", Surface = "system_hostname", Actual = "hv-east" });
        var f = Single(HypervisorIdentityGate.Evaluate(b.Build()), "IDENTITY.DuplicateHostname");
        Assert.Equal(b.Hosts["hv-west"].Location, f.Location);
        Assert.Equal(b.Hosts["hv-east"].Location, f.RelatedLocation);
    }

    [Fact]
    public void MissingSshTargetFails()
    {
        var b = new EstateBuilder();
        b.SshTargets.RemoveAll(t => t.Id == "hv-west");
        var f = Single(HypervisorIdentityGate.Evaluate(b.Build()), "IDENTITY.SshTargetMissing");
        Assert.Equal(b.Hosts["hv-west"].Location, f.Location);
    }

    [Fact]
    public void SshTargetWithoutAddressFails()
    {
        var b = new EstateBuilder();
        var i = b.SshTargets.FindIndex(t => t.Id == "hv-west");
        b.SshTargets[i] = b.SshTargets[i] with { Host = null };
        Single(HypervisorIdentityGate.Evaluate(b.Build()), "IDENTITY.SshTargetNoAddress");
    }

    [Fact]
    public void NoHypervisorsFails()
    {
        var b = new EstateBuilder();
        b.Hosts.Remove("hv-east");
        b.Hosts.Remove("hv-west");
        Single(HypervisorIdentityGate.Evaluate(b.Build()), "IDENTITY.NoHypervisors");
    }

    [Fact]
    public void UnknownHypervisorFilterFails()
    {
        var result = HypervisorIdentityGate.Evaluate(new EstateBuilder().Build(), new GateOptions { HypervisorIds = ["app-core"] });
        Single(result, "IDENTITY.UnknownHypervisor");
    }

    [Fact]
    public void ReportedMachineIdDifferentFromPinnedFails()
    {
        var b = new EstateBuilder();
        var seen = Healthy();
        seen["hv-west"] = seen["hv-west"] with { MachineId = "0123456789abcdef0123456789abcdef" };
        var f = Single(HypervisorIdentityGate.Evaluate(b.Build(), new GateOptions { Observations = seen }), "IDENTITY.MachineIdMismatch");
        Assert.Equal(b.Hosts["hv-west"].LocationOf("machine_id"), f.Location);
        Assert.Equal("ffeeddccbbaa99887766554433221100", f.Expected);
    }

    [Fact]
    public void SameReportedHostnameOnTwoHypervisorsFails()
    {
        var seen = Healthy();
        seen["hv-east"] = seen["hv-east"] with { Hostname = "pve" };
        seen["hv-west"] = seen["hv-west"] with { Hostname = "pve" };
        var result = HypervisorIdentityGate.Evaluate(new EstateBuilder().Build(), new GateOptions { Observations = seen });
        Single(result, "IDENTITY.DuplicateReportedHostname");
        Assert.Equal(2, result.Findings.Count(f => f.RuleId == "IDENTITY.HostnameMismatch"));
    }

    [Fact]
    public void SameReportedMachineIdOnTwoHypervisorsFails()
    {
        var seen = Healthy();
        seen["hv-west"] = seen["hv-west"] with { MachineId = seen["hv-east"].MachineId };
        var result = HypervisorIdentityGate.Evaluate(new EstateBuilder().Build(), new GateOptions { Observations = seen });
        Single(result, "IDENTITY.DuplicateReportedMachineId");
    }

    [Fact]
    public void HostnameAliasDowngradesToWarning()
    {
        var seen = Healthy();
        seen["hv-west"] = seen["hv-west"] with { Hostname = "pve-old" };
        var result = HypervisorIdentityGate.Evaluate(new EstateBuilder().Build(), new GateOptions { Observations = seen, AllowHostnameAlias = true });
        Assert.True(result.Passed);
        Assert.Equal(FindingSeverity.Warning, Single(result, "IDENTITY.HostnameMismatch").Severity);
    }

    [Fact]
    public void NamingExceptionSetsTheExpectedHostname()
    {
        var b = new EstateBuilder();
        b.Naming.Add(new NamingException { Host = "hv-west", Surface = "system_hostname", Actual = "pve-west" });
        var seen = Healthy();
        seen["hv-west"] = seen["hv-west"] with { Hostname = "pve-west" };
        Assert.True(HypervisorIdentityGate.Evaluate(b.Build(), new GateOptions { Observations = seen }).Passed);
    }

    [Fact]
    public void FailedProbeIsInconclusiveAndFails()
    {
        var seen = Healthy();
        seen["hv-west"] = seen["hv-west"] with { Error = "Operation not permitted" };
        var result = HypervisorIdentityGate.Evaluate(new EstateBuilder().Build(), new GateOptions { Observations = seen });
        Single(result, "IDENTITY.ProbeFailed");
        Assert.False(result.Passed);
    }

    [Fact]
    public void MissingPolicyFails()
    {
        var result = HypervisorIdentityGate.Evaluate(new EstateBuilder { WithPolicy = false }.Build());
        Single(result, "IDENTITY.PolicyMissing");
        Assert.False(result.Passed);
    }

    [Fact]
    public void UnreportedMachineIdFailsAtTheHost()
    {
        var b = new EstateBuilder();
        var seen = Healthy();
        seen["hv-east"] = seen["hv-east"] with { MachineId = "unknown" };
        var f = Single(HypervisorIdentityGate.Evaluate(b.Build(), new GateOptions { Observations = seen }), "IDENTITY.MachineIdUnreported");
        Assert.Equal(b.Hosts["hv-east"].Location, f.Location);
    }
}

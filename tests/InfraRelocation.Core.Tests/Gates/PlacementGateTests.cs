using InfraRelocation.Core.Gates;
using InfraRelocation.Gates;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Gates;

public class PlacementGateTests
{
    private static RelocationFinding Single(EstateBuilder b, string rule)
    {
        var result = PlacementGate.Evaluate(b.Build());
        var matches = result.Findings.Where(f => f.RuleId == rule).ToList();
        Assert.True(matches.Count == 1, $"expected one {rule}, got: {string.Join(" | ", result.Findings)}");
        Assert.False(result.Passed);
        return matches[0];
    }

    [Fact]
    public void ConsistentEstatePasses()
    {
        var result = PlacementGate.Evaluate(new EstateBuilder().Build());
        Assert.True(result.Passed, string.Join("\n", result.Findings));
    }

    [Fact]
    public void MissingPolicyFails() => Single(new EstateBuilder { WithPolicy = false }, "D37.PolicyMissing");

    [Fact]
    public void VmOnUnknownHostFails()
    {
        var b = new EstateBuilder();
        b.Hosts.Remove("app-core");
        var f = Single(b, "D37.VmHostUnknown");
        Assert.Equal(b.Vms[0].LocationOf("hostname"), f.Location);
    }

    [Fact]
    public void NonCanonicalHypervisorFails()
    {
        var b = new EstateBuilder();
        b.Vms[0] = b.Vms[0] with { ProxmoxHost = "pve" };
        var f = Single(b, "D37.HypervisorNonCanonical");
        Assert.Equal(b.Vms[0].LocationOf("proxmox_host"), f.Location);
    }

    [Fact]
    public void HypervisorThatIsNotProxmoxFails()
    {
        var b = new EstateBuilder();
        b.Hosts["hv-east"] = b.Hosts["hv-east"] with { Kind = "vm" };
        var f = Single(b, "D37.HypervisorNotProxmox");
        Assert.Equal(b.Hosts["hv-east"].LocationOf("kind"), f.RelatedLocation);
    }

    [Fact]
    public void HypervisorNotListedUnderItsSiteFails()
    {
        var b = new EstateBuilder();
        b.Sites["east"] = b.Sites["east"] with { ProxmoxHosts = [] };
        var f = Single(b, "D37.HypervisorNotInSite");
        Assert.Equal(b.Sites["east"].LocationOf("proxmox_hosts"), f.RelatedLocation);
    }

    [Fact]
    public void VmSiteDifferentFromHypervisorSiteFails()
    {
        var b = new EstateBuilder();
        b.Hosts["app-core"] = b.Hosts["app-core"] with { Site = "west" };
        b.VmRequirements.Clear();
        b.Guards = b.Guards with { RequireExplicitVmTargetRequirements = false };
        b.ServicePlacement.Clear();
        b.Guards = b.Guards with { RequireServicePolicyForManifestServices = false };
        var f = Single(b, "D37.VmSiteMismatch");
        Assert.Equal(b.Hosts["app-core"].LocationOf("site"), f.RelatedLocation);
    }

    [Fact]
    public void MissingExplicitRequirementFailsUnderGuard()
    {
        var b = new EstateBuilder();
        b.VmRequirements.Clear();
        var f = Single(b, "D37.VmRequirementMissing");
        Assert.Equal(b.Guards.LocationOf("require_explicit_vm_target_requirements"), f.RelatedLocation);
        b.Guards = b.Guards with { RequireExplicitVmTargetRequirements = false };
        Assert.True(PlacementGate.Evaluate(b.Build()).Passed);
    }

    [Fact]
    public void RequiredHypervisorMismatchNamesBothSides()
    {
        var b = new EstateBuilder();
        b.VmRequirements["app-core"] = b.VmRequirements["app-core"] with { RequiredProxmoxHost = "hv-west" };
        var f = Single(b, "D37.VmRequiredHypervisorMismatch");
        Assert.Equal(b.Vms[0].LocationOf("proxmox_host"), f.Location);
        Assert.Equal(b.VmRequirements["app-core"].LocationOf("required_proxmox_host"), f.RelatedLocation);
    }

    [Fact]
    public void RequiredSiteMismatchFails()
    {
        var b = new EstateBuilder();
        b.VmRequirements["app-core"] = b.VmRequirements["app-core"] with { RequiredSite = "west" };
        var f = Single(b, "D37.VmRequiredSiteMismatch");
        Assert.Equal(b.VmRequirements["app-core"].LocationOf("required_site"), f.RelatedLocation);
    }

    [Theory]
    [InlineData(200, true)]
    [InlineData(299, true)]
    [InlineData(199, false)]
    [InlineData(300, false)]
    public void VmidRangeIsInclusive(int vmid, bool passes)
    {
        var b = new EstateBuilder();
        b.Vms[0] = b.Vms[0] with { VmId = vmid };
        b.Stacks.Clear();
        if (passes)
        {
            Assert.True(PlacementGate.Evaluate(b.Build()).Passed);
        }
        else
        {
            var f = Single(b, "D37.VmidOutOfRange");
            Assert.Equal(b.Vms[0].LocationOf("vm_id"), f.Location);
            Assert.Equal(b.Sites["east"].LocationOf("vmid_min"), f.RelatedLocation);
            Assert.Equal("200-299", f.Expected);
        }
    }

    [Fact]
    public void VmidRangeComesFromTheHypervisorSite()
    {
        var b = new EstateBuilder();
        b.Sites["east"] = b.Sites["east"] with { VmidMin = null };
        Single(b, "D37.VmidRangeMissing");
    }

    [Fact]
    public void NonNumericVmidFails()
    {
        var b = new EstateBuilder();
        b.Vms[0] = b.Vms[0] with { VmId = null };
        Single(b, "D37.VmidMissing");
    }

    [Fact]
    public void ServiceWithoutPolicyFailsUnderGuard()
    {
        var b = new EstateBuilder();
        b.ServicePlacement.Remove("chat");
        var f = Single(b, "D37.ServicePolicyMissing");
        Assert.Equal(b.Services[1].LocationOf("service"), f.Location);
    }

    [Fact]
    public void ToHostOutsideThePolicyFails()
    {
        var b = new EstateBuilder();
        b.Services[1] = b.Services[1] with { ToHost = "mystery" };
        var f = Single(b, "D37.ToHostNonCanonical");
        Assert.Equal(b.Services[1].LocationOf("to_host"), f.Location);
    }

    [Fact]
    public void PrimarySiteViolationNamesBothSides()
    {
        var b = new EstateBuilder();
        b.Services[1] = b.Services[1] with { ToHost = "dr-box" };
        var f = Single(b, "D37.PrimarySiteViolation");
        Assert.Equal(b.Services[1].LocationOf("to_host"), f.Location);
        Assert.Equal(b.ServicePlacement["chat"].LocationOf("primary_site"), f.RelatedLocation);
        Assert.Equal("east", f.Expected);
        Assert.Equal("west", f.Actual);
    }

    [Fact]
    public void MissingPrimarySiteFailsUnderGuard()
    {
        var b = new EstateBuilder();
        b.ServicePlacement["chat"] = b.ServicePlacement["chat"] with { PrimarySite = null };
        Single(b, "D37.PrimarySiteMissing");
    }

    [Fact]
    public void RollbackTargetOutsideDrSitesNamesBothSides()
    {
        var b = new EstateBuilder();
        b.Services[1] = b.Services[1] with { RollbackTo = "dr-box" };
        var f = Single(b, "D37.RollbackSiteViolation");
        Assert.Equal(b.Services[1].LocationOf("rollback_to"), f.Location);
        Assert.Equal(b.ServicePlacement["chat"].LocationOf("dr_sites"), f.RelatedLocation);
    }

    [Fact]
    public void EmptyDrSitesForbidsAnyRollbackTarget()
    {
        var b = new EstateBuilder();
        b.ServicePlacement["chat"] = b.ServicePlacement["chat"] with { DrSites = [] };
        var f = Single(b, "D37.RollbackSiteViolation");
        Assert.Contains("no DR site", f.Message);
    }

    [Fact]
    public void RollbackTargetOutsideThePolicyFails()
    {
        var b = new EstateBuilder();
        b.Services[1] = b.Services[1] with { RollbackTo = "destroyed-host" };
        Single(b, "D37.RollbackHostNonCanonical");
    }

    [Fact]
    public void RolledBackWithoutRollbackTargetFails()
    {
        var b = new EstateBuilder();
        b.Active = null;
        b.Services[1] = b.Services[1] with { RollbackTo = null, Status = ServiceStatus.RolledBack, StatusText = "rolled-back" };
        Single(b, "D37.RollbackTargetMissing");
    }

    [Fact]
    public void RunsWithoutAnActiveRelocationAndChecksTheRegistryThen()
    {
        var b = new EstateBuilder { Active = null };
        b.Registry["wiki"] = b.Registry["wiki"] with { Host = "legacy-box" };
        var f = Single(b, "D37.RegistryHostMismatch");
        Assert.Equal(b.Wiki.LocationOf("to_host"), f.Location);
        Assert.Equal(b.Registry["wiki"].LocationOf("host"), f.RelatedLocation);
    }

    [Fact]
    public void RegistryIsLeftToD35InActiveStates()
    {
        var b = new EstateBuilder();
        b.Registry["wiki"] = b.Registry["wiki"] with { Host = "legacy-box" };
        Assert.True(PlacementGate.Evaluate(b.Build()).Passed);
    }

    [Fact]
    public void RegistryWithoutTheServiceFailsWhenD35IsNotActive()
    {
        var b = new EstateBuilder { Active = null };
        b.Registry.Remove("wiki");
        var f = Single(b, "D37.RegistryHostMissing");
        Assert.Equal(b.Wiki.LocationOf("to_host"), f.Location);
        Assert.Equal(EstateBuilder.RegistryFile, f.RelatedLocation!.File);
    }
}

using InfraRelocation.Core.Estate;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Tests.Model;

public sealed class EstateLoaderTests
{
    [Fact]
    public void SampleEstateLoadsWithoutFindings()
    {
        var estate = TestEstate.Load(TestEstate.RepoRoot);

        Assert.Empty(estate.ValidationFindings.Select(f => f.ToString()));
        Assert.NotNull(estate.Manifest);
        Assert.Equal(RelocationState.Preflight, estate.Manifest!.ActiveRelocation!.State);
        Assert.Equal(10, estate.Manifest.VmTargets.Count);
        Assert.Equal(30, estate.ServiceRegistry!.Services.Count);
        Assert.Equal(3, estate.Policy!.Hosts.Values.Count(h => h.IsProxmox));
        Assert.Contains(estate.Manifest.Services, s => s.Status == ServiceStatus.Shadow);
        Assert.Contains(estate.Manifest.Services, s => s.Status == ServiceStatus.Planned);
        Assert.Equal(12, estate.InputDigests.Count); // 11 protocol files + the config
        Assert.All(estate.InputDigests.Values, d => Assert.Matches("^[0-9a-f]{64}$", d));
    }

    [Fact]
    public void EveryValueKeepsItsLocation()
    {
        var estate = TestEstate.Load(TestEstate.RepoRoot);
        var wiki = estate.Manifest!.Services.Single(s => s.Service == "wiki");
        var location = wiki.LocationOf("to_host")!;

        Assert.Equal("ops/bindings/infra.relocation.plan.yaml", location.File);
        var line = File.ReadAllLines(Path.Combine(TestEstate.RepoRoot, location.File))[location.Line - 1];
        Assert.Equal("\"app-core\"", line[(location.Column - 1)..].Trim());
        Assert.Equal("app-core", wiki.ToHost);
        Assert.Equal(210, estate.Manifest.VmTargets.Single(v => v.Hostname == "app-core").VmId);
    }

    [Fact]
    public void DeviceIdentityTablesAreParsed()
    {
        var identity = TestEstate.Load(TestEstate.RepoRoot).DeviceIdentity!;
        var app = identity.Devices.Single(d => d.Hostname == "app-core");

        Assert.Equal(["192.0.2.110", "100.64.10.110"], app.Addresses);
        Assert.StartsWith("fra1", app.Section);
        Assert.Equal("210", app.Columns["VMID"]);
        Assert.DoesNotContain(identity.Devices, d => d.Hostname == "fra1"); // the VMID range table has no host column
        Assert.Equal("authoritative", identity.Extra["status"]);
    }
}

using InfraRelocation.Core.Estate.Readers;

namespace InfraRelocation.Core.Tests.Model;

public sealed class DeviceIdentityReaderTests
{
    private const string File = "docs/governance/DEVICE_IDENTITY_SSOT.md";

    [Fact]
    public void RowsUnderHeadingsWithEveryAddress()
    {
        const string text = """
            # Devices

            ## east

            | Host | LAN | Mesh | Notes |
            |:-----|----:|:----:|-------|
            | `hv-east` | 192.0.2.2/24 | 100.64.0.2 | also 2001:db8::2 and fe80::1%eth0 |
            | **app-core** | 192.0.2.31 | 100.64.10.31 | version 1.2.3.4.5, port 8080 |
            | – | 192.0.2.99 | | spare |

            Text between tables.

            | Name | Address |
            | --- | --- |
            | backup-nas | 198.51.100.20 |
            """;
        var identity = DeviceIdentityReader.Read(text, new ReadContext(File));

        Assert.Equal(["hv-east", "app-core", "backup-nas"], identity.Devices.Select(d => d.Hostname));
        var hv = identity.Devices[0];
        Assert.Equal(["192.0.2.2", "100.64.0.2", "2001:db8::2"], hv.Addresses.Take(3));
        Assert.Equal("east", hv.Section);
        Assert.Equal(new SourceLocation(File, 7, 3), hv.Location);
        Assert.Equal(["192.0.2.31", "100.64.10.31"], identity.Devices[1].Addresses);
        Assert.Equal("198.51.100.20", identity.Devices[2].Columns["Address"]);
    }

    [Fact]
    public void TablesWithoutAHostColumnAreSkipped()
    {
        const string text = "| Site | Range |\n|---|---|\n| east | 200-299 |\n";
        Assert.Empty(DeviceIdentityReader.Read(text, new ReadContext(File)).Devices);
    }

    [Fact]
    public void FrontMatterIsKeptAsExtra()
    {
        var identity = DeviceIdentityReader.Read("---\nowner: \"@ops\"\nlast_verified: 2026-05-01\n---\n# T\n", new ReadContext(File));
        Assert.Equal("@ops", identity.Extra["owner"]);
        Assert.Equal("2026-05-01", identity.Extra["last_verified"]);
    }

    [Theory]
    [InlineData("10.0.0.256", new string[0])]
    [InlineData("ip 010.1.1.1", new string[0])]
    [InlineData("a 192.0.2.1, b 192.0.2.1", new[] { "192.0.2.1" })]
    [InlineData("::1 and 2001:db8:0:0:0:0:0:1", new[] { "::1", "2001:db8:0:0:0:0:0:1" })]
    [InlineData("time 12:30, mac aa:bb:cc:dd:ee:ff", new string[0])]
    public void AddressesAreValidatedAndDistinct(string text, string[] expected) =>
        Assert.Equal(expected, DeviceIdentityReader.Addresses(text));
}

using InfraRelocation.Core.Proxmox;

namespace InfraRelocation.Core.Tests.Proxmox;

public class UpidTests
{
    [Fact]
    public void ParsesAllNineFields()
    {
        var upid = Upid.Parse("UPID:pve-1:0001A2B0:0012D687:6523ABCD:qmclone:9000:deploy@pve!ci:");
        Assert.Equal("pve-1", upid.Node);
        Assert.Equal(0x1A2B0, upid.Pid);
        Assert.Equal(0x12D687, upid.PStart);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(0x6523ABCD), upid.StartTime);
        Assert.Equal("qmclone", upid.Type);
        Assert.Equal("9000", upid.Id);
        Assert.Equal("deploy@pve!ci", upid.User);
        Assert.Equal("UPID:pve-1:0001A2B0:0012D687:6523ABCD:qmclone:9000:deploy@pve!ci:", upid.ToString());
    }

    [Theory]
    [InlineData("UPID:pve:0001a2b0:0012d687:6523abcd:qmstart:100:root@pam:")] // lower-case hex
    [InlineData("UPID:pve:0001A2B0:112D687AB:6523ABCD:qmstart:100:root@pam:")] // 9-hex pstart (long uptime)
    [InlineData("UPID:pve:0001A2B0:0012D687:6523ABCD:vzdump::root@pam:")] // empty id
    public void AcceptsValidVariants(string text) => Assert.True(Upid.TryParse(text, out _));

    [Theory]
    [InlineData("UPID:pve:0001A2B0:0012D687:6523ABCD:qmstart:100:root@pam")] // no trailing colon
    [InlineData("UPID:pve:1A2B0:0012D687:6523ABCD:qmstart:100:root@pam:")] // short pid
    [InlineData("UPID:pve:0001A2B0:0012D687A12:6523ABCD:qmstart:100:root@pam:")] // pstart too long
    [InlineData("UPID:-pve:0001A2B0:0012D687:6523ABCD:qmstart:100:root@pam:")] // bad node
    [InlineData("pve:0001A2B0:0012D687:6523ABCD:qmstart:100:root@pam:")]
    [InlineData("")]
    public void RejectsMalformed(string text)
    {
        Assert.False(Upid.TryParse(text, out _));
        var e = Assert.Throws<RelocationException>(() => Upid.Parse(text));
        Assert.Equal("ProxmoxUpidInvalid", e.ErrorId);
    }
}

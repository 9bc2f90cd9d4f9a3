using System.Security.Cryptography;
using System.Text;
using InfraRelocation.Core.Ssh;

namespace InfraRelocation.Core.Tests.Ssh;

public sealed class HostKeyVerifierTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ir-kh-").FullName;
    private static readonly byte[] KeyA = Encoding.ASCII.GetBytes("fake-key-blob-A");
    private static readonly byte[] KeyB = Encoding.ASCII.GetBytes("fake-key-blob-B");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private SshEndpoint Ep(int port = 2222) => new("hv", "10.0.0.5", "root", port);

    [Fact]
    public void Fingerprint_IsOpenSshSha256Format()
    {
        var fp = HostKeyVerifier.Fingerprint(KeyA);
        Assert.StartsWith("SHA256:", fp);
        Assert.DoesNotContain("=", fp);
        Assert.Equal(Convert.ToBase64String(SHA256.HashData(KeyA)).TrimEnd('='), fp[7..]);
    }

    [Fact]
    public void Check_Pins_TrustMatchRefuseOther_AcceptPaddedPins()
    {
        var fpA = HostKeyVerifier.Fingerprint(KeyA);
        var ep = Ep() with { PinnedHostKeys = [fpA + "="] };
        Assert.Equal(HostKeyVerdict.Trusted, HostKeyVerifier.Check(ep, "ssh-ed25519", KeyA).Verdict);
        var bad = HostKeyVerifier.Check(ep, "ssh-ed25519", KeyB);
        Assert.Equal(HostKeyVerdict.Mismatch, bad.Verdict);
        Assert.Equal([fpA], bad.Expected);
        var ex = bad.ToException(ep)!;
        Assert.Equal("SshHostKeyMismatch", ex.ErrorId);
        Assert.Contains(HostKeyVerifier.Fingerprint(KeyB), ex.Message);
        Assert.Contains(fpA, ex.Message);
    }

    [Fact]
    public void Check_BadPinFormat_IsInvalidArgument()
    {
        var ex = Assert.Throws<RelocationException>(() => HostKeyVerifier.Check(Ep() with { PinnedHostKeys = ["MD5:aa:bb"] }, "ssh-ed25519", KeyA));
        Assert.Equal("SshHostKeyPinInvalid", ex.ErrorId);
    }

    [Theory]
    [InlineData("[10.0.0.5]:2222", true)]
    [InlineData("10.0.0.5", false)] // port 22 entry does not cover port 2222
    [InlineData("[10.0.0.*]:2222", true)]
    [InlineData("[10.0.0.*]:2222,![10.0.0.5]:2222", false)]
    [InlineData("other,[10.0.0.5]:2222", true)]
    public void KnownHosts_PatternMatching(string patterns, bool matches) =>
        Assert.Equal(matches, new KnownHostsEntry(null, patterns, "ssh-ed25519", KeyA).Matches("[10.0.0.5]:2222"));

    [Fact]
    public void KnownHosts_HashedEntry_Matches()
    {
        var salt = RandomNumberGenerator.GetBytes(20);
        var hash = HMACSHA1.HashData(salt, Encoding.ASCII.GetBytes("[10.0.0.5]:2222"));
        var entry = new KnownHostsEntry(null, $"|1|{Convert.ToBase64String(salt)}|{Convert.ToBase64String(hash)}", "ssh-ed25519", KeyA);
        Assert.True(entry.Matches("[10.0.0.5]:2222"));
        Assert.False(entry.Matches("[10.0.0.6]:2222"));
    }

    [Fact]
    public void Check_KnownHostsFile_TrustsRecordedKey_RefusesChangedAndRevoked()
    {
        var kh = Path.Combine(_dir, "known_hosts");
        File.WriteAllText(kh, $"# comment\n\n[10.0.0.5]:2222 ssh-ed25519 {Convert.ToBase64String(KeyA)}\n" +
                              $"@revoked [10.0.0.5]:2222 ssh-ed25519 {Convert.ToBase64String(KeyB)}\n");
        var ep = Ep() with { KnownHostsFile = kh, TrustOnFirstUse = true };
        Assert.Equal(HostKeyVerdict.Trusted, HostKeyVerifier.Check(ep, "ssh-ed25519", KeyA).Verdict);
        Assert.Equal(HostKeyVerdict.Revoked, HostKeyVerifier.Check(ep, "ssh-ed25519", KeyB).Verdict);
        Assert.Equal(HostKeyVerdict.Mismatch, HostKeyVerifier.Check(ep, "ssh-ed25519", Encoding.ASCII.GetBytes("C")).Verdict);
        Assert.Equal(4, File.ReadAllLines(kh).Length); // TOFU never records over a known host
    }

    [Fact]
    public void Check_Tofu_RecordsUnknownHost_OnlyWhenAsked()
    {
        var kh = Path.Combine(_dir, "kh");
        Assert.Equal(HostKeyVerdict.Unknown, HostKeyVerifier.Check(Ep() with { KnownHostsFile = kh }, "ssh-ed25519", KeyA).Verdict);
        Assert.False(File.Exists(kh));
        Assert.Equal(HostKeyVerdict.TrustedOnFirstUse, HostKeyVerifier.Check(Ep() with { KnownHostsFile = kh, TrustOnFirstUse = true }, "ssh-ed25519", KeyA).Verdict);
        Assert.Equal($"[10.0.0.5]:2222 ssh-ed25519 {Convert.ToBase64String(KeyA)}\n", File.ReadAllText(kh));
        Assert.Equal(HostKeyVerdict.Trusted, HostKeyVerifier.Check(Ep() with { KnownHostsFile = kh }, "ssh-ed25519", KeyA).Verdict);
        Assert.Equal("10.0.0.5", Ep(22).KnownHostsName);
    }

    [Fact]
    public void Secret_MasksItselfEverywhere()
    {
        var s = new SshSecret("hunter2");
        Assert.Equal(SshSecret.MaskText, s.ToString());
        Assert.Equal($"pw={SshSecret.MaskText} again {SshSecret.MaskText}", SshSecret.Mask("pw=hunter2 again hunter2", [s, null]));
        Assert.Equal("SshSecretEmpty", Assert.Throws<RelocationException>(() => new SshSecret("")).ErrorId);
    }
}

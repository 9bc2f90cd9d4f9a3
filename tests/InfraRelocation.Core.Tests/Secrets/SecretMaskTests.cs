using InfraRelocation.Core.Proxmox;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Secrets;
using InfraRelocation.Core.Ssh;
using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Tests.Secrets;

/// <summary>Issue 16.8: one registry masks every secret the process holds, in any text that leaves it.</summary>
public sealed class SecretMaskTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ir-secrets-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string NewSecret() => "s3cr3t-" + Guid.NewGuid().ToString("n");

    [Fact]
    public void SecretTypes_RegisterThemselves_AndEveryFormIsMasked()
    {
        var token = NewSecret() + "+/&\"";
        var key = NewSecret();
        _ = new ProxmoxSecret(token);
        _ = new SshSecret(key);
        var text = $"a {token} b {System.Text.Json.JsonEncodedText.Encode(token)} c {Uri.EscapeDataString(token)} d {key}";
        Assert.True(SecretMask.Contains(text));
        var masked = SecretMask.Mask(text);
        Assert.Equal($"a {SecretMask.MaskText} b {SecretMask.MaskText} c {SecretMask.MaskText} d {SecretMask.MaskText}", masked);
        Assert.False(SecretMask.Contains(masked));
    }

    [Fact]
    public void VeryShortValues_AreNotMasked_SoMessagesStayReadable()
    {
        SecretMask.Register("ab");
        Assert.Equal("tab and abc", SecretMask.Mask("tab and abc"));
    }

    [Fact]
    public void AnOutputObject_IsRebuiltWithItsTextMasked_OrPassedOnUntouched()
    {
        var secret = SecretMask.Register(NewSecret());
        var receipt = new RelocationReceipt { Summary = $"failed: {secret}", Capability = "x" };
        var masked = Assert.IsType<RelocationReceipt>(SecretMask.MaskObject(receipt));
        Assert.Equal($"failed: {SecretMask.MaskText}", masked.Summary);
        Assert.Equal("x", masked.Capability);
        var clean = new RelocationReceipt { Summary = "fine" };
        Assert.Same(clean, SecretMask.MaskObject(clean));
    }

    [Fact]
    public void TheLedger_NeverStoresASecret_AndTheChainStaysIntact()
    {
        var secret = SecretMask.Register(NewSecret());
        var store = new ReceiptStore(_folder);
        var stored = store.Append(new RelocationReceipt { Summary = $"server said: token {secret}", Capability = "c" });
        store.Append(new RelocationReceipt { Summary = "next", Capability = "c" });

        Assert.Equal($"server said: token {SecretMask.MaskText}", stored.Summary);
        Assert.DoesNotContain(secret, File.ReadAllText(store.LedgerPath));
        Assert.Contains("server said: token", File.ReadAllText(store.LedgerPath));
        Assert.True(store.Verify().IsValid);
    }

    [Fact]
    public async Task ATokenTheServerEchoes_IsMaskedByTheRegistry()
    {
        var host = new Proxmox.EmulatorHost();
        await host.InitializeAsync();
        try
        {
            var emu = host.Emulator;
            emu.Faults.FailPath("GET", "/version", 400, "bad request from {authorization}", times: -1);
            using var client = host.TokenClient();
            var ex = await Assert.ThrowsAnyAsync<RelocationException>(() => client.GetVersionAsync());
            Assert.Contains(emu.TokenSecret, ex.Message); // the server really echoed it...
            var shown = SecretMask.Mask(ex.Message);     // ...and the one masking point hides it
            Assert.DoesNotContain(emu.TokenSecret, shown);
            Assert.Contains($"PVEAPIToken={emu.TokenId}={SecretMask.MaskText}", shown);
            Assert.DoesNotContain(emu.TokenSecret, System.Text.Json.JsonSerializer.Serialize(host.State.RequestLog()));
        }
        finally
        {
            await host.DisposeAsync();
        }
    }
}

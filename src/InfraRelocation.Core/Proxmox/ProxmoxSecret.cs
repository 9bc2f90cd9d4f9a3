namespace InfraRelocation.Core.Proxmox;

/// <summary>
/// A secret (API token secret, password, ticket). ToString masks it, so it never reaches
/// messages, logs or receipts by accident; only the client reads the clear text.
/// </summary>
public sealed class ProxmoxSecret
{
    private readonly string _value;

    public ProxmoxSecret(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        _value = Secrets.SecretMask.Register(value);
    }

    internal string Reveal() => _value;

    public override string ToString() => Secrets.SecretMask.MaskText;
}

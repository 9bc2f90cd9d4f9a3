using System.Management.Automation;
using InfraRelocation.Core.Proxmox;

namespace InfraRelocation.Commands.Base;

/// <summary>
/// Resolves the Proxmox API token of a cmdlet: <c>-ApiToken &lt;PSCredential&gt;</c> (user name = token id,
/// password = secret) wins; else the token id of the estate config with its secret from the environment
/// variable named there, or from a SecretManagement vault (<c>Get-Secret -Name n -AsPlainText</c>, only when that
/// command exists in the session). Call it on the pipeline thread. The secret never reaches any stream.
/// </summary>
public static class ProxmoxTokenResolver
{
    public static ProxmoxApiToken Resolve(PSCmdlet cmdlet, ProxmoxSettings settings, PSCredential? apiToken)
    {
        ArgumentNullException.ThrowIfNull(cmdlet);
        ArgumentNullException.ThrowIfNull(settings);
        if (apiToken is not null && apiToken != PSCredential.Empty)
        {
            var secret = SecretVault.Plain(apiToken.Password);
            if (string.IsNullOrEmpty(secret))
            {
                throw new RelocationException("ProxmoxTokenSecretMissing", FailureKind.AuthenticationError,
                    $"-ApiToken for {apiToken.UserName} has an empty password; the password is the token secret.", target: apiToken.UserName);
            }
            return settings.ResolveToken(apiToken.UserName, new ProxmoxSecret(secret));
        }
        return settings.ResolveToken(null, null, name => ReadVault(cmdlet, name));
    }

    private static ProxmoxSecret? ReadVault(PSCmdlet cmdlet, string name) =>
        SecretVault.ReadPlain(cmdlet, name) is { Length: > 0 } value ? new ProxmoxSecret(value.Trim()) : null;
}

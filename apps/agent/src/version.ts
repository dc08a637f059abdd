/** The agent's version, sent at enrollment and in its presence messages (keep in step with package.json). */
export const AGENT_VERSION = '0.1.0';

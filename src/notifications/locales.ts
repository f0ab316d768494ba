import { CompanySize } from "../rfis/company-size.js";

/** Every sentence of the e-mails in one language; templates.ts only arranges them. */
export interface Strings {
  /** The HTML `lang` attribute. */
  lang: string;
  /** The locale given to `Intl` for dates and country names. */
  intl: string;
  /** What separates a label from its value in the text part (French puts a space before the colon). */
  colon: string;
  quote(text: string): string;
  hello: string;
  helloName(name: string): string;
  companySizes: Record<CompanySize, string>;
  labels: { need: string; companySize: string; industry: string; region: string; keywords: string; location: string; contact: string };
  answerBy(deadline: string): string;
  missedIfUnanswered: string;
  viewAndAnswer: string;
  profileContactFooter: string;
  newReferral: { subject(need: string): string; intro: string; advice: string };
  reminder: { subject(need: string): string; intro: string };
  chooseAnotherPartner: {
    subject: string;
    about(quotedNeed: string): string;
    willNotFollowUp: string;
    suggestionsIntro: string;
    noneAvailable: string;
  };
  webhookDisabled: {
    subject: string;
    intro: string;
    endpoint: string;
    reason: string;
    paused: string;
    catchUp: string;
    openDashboard: string;
  };
}

export const en: Strings = {
  lang: "en",
  intl: "en-GB",
  colon: ":",
  quote: (text) => `“${text}”`,
  hello: "Hello,",
  helloName: (name) => `Hello ${name},`,
  companySizes: {
    [CompanySize.SIZE_1_TO_9]: "1 to 9 employees",
    [CompanySize.SIZE_10_TO_49]: "10 to 49 employees",
    [CompanySize.SIZE_50_TO_249]: "50 to 249 employees",
    [CompanySize.SIZE_250_TO_999]: "250 to 999 employees",
    [CompanySize.SIZE_1000_TO_4999]: "1,000 to 4,999 employees",
    [CompanySize.SIZE_5000_PLUS]: "5,000 or more employees",
  },
  labels: {
    need: "Need",
    companySize: "Company size",
    industry: "Industry",
    region: "Region",
    keywords: "Keywords",
    location: "Location",
    contact: "Contact",
  },
  answerBy: (deadline) => `Please answer by ${deadline}.`,
  missedIfUnanswered: "If you have not answered by then, the referral will be archived as Missed.",
  viewAndAnswer: "View and answer the referral",
  profileContactFooter: "You are receiving this e-mail as the contact given in your marketing profile.",
  newReferral: {
    subject: (need) => `New referral: ${need}`,
    intro: "A new referral has arrived for you. Here is an overview of the request:",
    advice: "We advise answering within 24 hours.",
  },
  reminder: {
    subject: (need) => `Reminder: a referral awaits your answer – ${need}`,
    intro: "A referral you received is still waiting for your answer, and its deadline is near. As a reminder, here is the request:",
  },
  chooseAnotherPartner: {
    subject: "Choose another partner for your request",
    about: (quotedNeed) => `We are writing about your request ${quotedNeed}.`,
    willNotFollowUp: "The partner we sent it to will not follow up. Please choose another partner.",
    suggestionsIntro: "Here are partners you can contact:",
    noneAvailable: "No other partner is available in your region right now. You are welcome to submit a new request later.",
  },
  webhookDisabled: {
    subject: "Your webhook endpoint was disabled",
    intro: "One of your webhook endpoints failed for too long, so we have disabled it.",
    endpoint: "Endpoint",
    reason: "Reason",
    paused: "No deliveries will be attempted to it until you enable it again with setWebhookEndpointEnabled.",
    catchUp: "The changes it missed are not lost: you can read them back with the change feed, referralChanges.",
    openDashboard: "Open your dashboard",
  },
};

export const fr: Strings = {
  lang: "fr",
  intl: "fr-FR",
  colon: " :",
  quote: (text) => `« ${text} »`,
  hello: "Bonjour,",
  helloName: (name) => `Bonjour ${name},`,
  companySizes: {
    [CompanySize.SIZE_1_TO_9]: "1 à 9 salariés",
    [CompanySize.SIZE_10_TO_49]: "10 à 49 salariés",
    [CompanySize.SIZE_50_TO_249]: "50 à 249 salariés",
    [CompanySize.SIZE_250_TO_999]: "250 à 999 salariés",
    [CompanySize.SIZE_1000_TO_4999]: "1 000 à 4 999 salariés",
    [CompanySize.SIZE_5000_PLUS]: "5 000 salariés ou plus",
  },
  labels: {
    need: "Besoin",
    companySize: "Taille de l'entreprise",
    industry: "Secteur",
    region: "Région",
    keywords: "Mots-clés",
    location: "Implantation",
    contact: "Contact",
  },
  answerBy: (deadline) => `Merci de répondre avant le ${deadline}.`,
  missedIfUnanswered: "Faute de réponse dans ce délai, la recommandation sera archivée avec le statut « Manquée ».",
  viewAndAnswer: "Voir la recommandation et y répondre",
  profileContactFooter: "Vous recevez cet e-mail en tant que contact indiqué dans votre profil marketing.",
  newReferral: {
    subject: (need) => `Nouvelle recommandation : ${need}`,
    intro: "Une nouvelle recommandation vient de vous parvenir. Voici un aperçu de la demande :",
    advice: "Nous vous conseillons de répondre sous 24 heures.",
  },
  reminder: {
    subject: (need) => `Rappel : une recommandation attend votre réponse – ${need}`,
    intro:
      "Une recommandation que vous avez reçue attend toujours votre réponse, et son échéance approche. Pour rappel, voici la demande :",
  },
  chooseAnotherPartner: {
    subject: "Choisissez un autre partenaire pour votre demande",
    about: (quotedNeed) => `Nous revenons vers vous au sujet de votre demande ${quotedNeed}.`,
    willNotFollowUp: "Le partenaire à qui nous l'avons transmise n'y donnera pas suite. Nous vous invitons à choisir un autre partenaire.",
    suggestionsIntro: "Voici des partenaires que vous pouvez contacter :",
    noneAvailable:
      "Aucun autre partenaire n'est disponible dans votre région pour le moment. Vous pourrez soumettre une nouvelle demande plus tard.",
  },
  webhookDisabled: {
    subject: "Votre point de terminaison webhook a été désactivé",
    intro: "L'un de vos points de terminaison webhook a échoué trop longtemps : nous l'avons donc désactivé.",
    endpoint: "Point de terminaison",
    reason: "Motif",
    paused: "Aucun envoi n'y sera tenté tant que vous ne l'aurez pas réactivé avec setWebhookEndpointEnabled.",
    catchUp: "Les changements manqués ne sont pas perdus : vous pouvez les relire avec le flux de changements referralChanges.",
    openDashboard: "Ouvrir votre tableau de bord",
  },
};

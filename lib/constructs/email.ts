import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';

export interface SenderIdentityProps {
  /** `mail.from` of the configuration: the address approval emails are sent from. */
  from: string;
}

/**
 * The SES email identity of the configured sender. Deploying it makes SES send a verification
 * link to the address (docs/deploy.md); until it is clicked, sends fail. Sending is granted on
 * this identity only.
 */
export class SenderIdentity extends Construct {
  readonly identity: ses.EmailIdentity;
  readonly from: string;
  /** `arn:…:ses:region:account:identity/<from>`: the resource SendEmail is authorized on. */
  readonly identityArn: string;

  constructor(scope: Construct, id: string, props: SenderIdentityProps) {
    super(scope, id);
    this.from = props.from;
    this.identity = new ses.EmailIdentity(this, 'Identity', {
      identity: ses.Identity.email(props.from),
    });
    this.identityArn = Stack.of(this).formatArn({
      service: 'ses',
      resource: 'identity',
      resourceName: props.from,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  /** ses:SendEmail from this identity, nothing else (SES v2 SendEmail authorizes `ses:SendEmail`). */
  grantSend(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['ses:SendEmail'],
      resourceArns: [this.identityArn],
    });
  }
}
